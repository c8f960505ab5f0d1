package importer

import (
	"bufio"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
)

// resultColumns is the header of the results file.
var resultColumns = []string{"line", "partnerInvestorId", "status", "zestPersonId", "errorCode", "errorMessage"}

// writeResults writes one line per input row, in input order. It replaces
// the file in one rename, so that an interrupted write never leaves a
// results file that misses rows.
func writeResults(path string, rows []row) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<16)
	w := csv.NewWriter(bw)
	if err := w.Write(resultColumns); err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		pid := ""
		if r.pid != nil {
			pid = *r.pid
		}
		msg := r.out.ErrorMessage
		if r.out.Status == statusPending {
			msg = "not answered yet: the import stopped before this row's batch was answered; run it again to finish"
		}
		if err := w.Write([]string{strconv.Itoa(r.line), pid, r.out.Status, r.out.ZestPersonID, r.out.ErrorCode, msg}); err != nil {
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// finishedRows counts the rows of the results file at path that an import
// answered (any status but pending); 0 when there is no readable file.
func finishedRows(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	recs, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	if err != nil || len(recs) == 0 {
		return 0
	}
	n := 0
	for _, rec := range recs[1:] {
		if len(rec) > 2 && rec[2] != statusPending {
			n++
		}
	}
	return n
}
