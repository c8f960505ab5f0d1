package importer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Input formats.
const (
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
)

// record is one row of the input file, decoded but not yet validated.
type record struct {
	line  int // where the row starts, 1-based
	value any // a JSON value, as the server would decode it
}

// detectFormat picks the format from the file's extension.
func detectFormat(path string) (string, bool) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return FormatCSV, true
	case ".jsonl", ".ndjson":
		return FormatJSONL, true
	}
	return "", false
}

// readInput decodes the file and returns its rows and the hex SHA-256 of its
// content, which identifies the file across runs whatever its name.
func readInput(path, format string, rules *rowRules) ([]record, string, error) {
	f, err := os.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", fmt.Errorf("%s: no such file", path)
	case errors.Is(err, fs.ErrPermission):
		return nil, "", fmt.Errorf("%s: permission denied: the file cannot be read", path)
	case err != nil:
		return nil, "", err
	}
	defer f.Close()
	// Both readers read to the end of a file they accept, so the hash is
	// of the whole content.
	h := sha256.New()
	r := io.TeeReader(f, h)
	var recs []record
	if format == FormatCSV {
		recs, err = readCSV(r, path, rules)
	} else {
		recs, err = readJSONL(r, path)
	}
	if err != nil {
		return nil, "", err
	}
	return recs, hex.EncodeToString(h.Sum(nil)), nil
}

// readCSV reads a header row of InvestorInput field names and one row per
// record. Only an empty countryOfResidence cell means absent: the other
// fields are required, and an empty cell fails its row as blank, as on the
// server.
func readCSV(r io.Reader, name string, rules *rowRules) ([]record, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: the file is empty; its first line must name the columns", name)
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	headerLine, _ := cr.FieldPos(0)
	known := rules.columns()
	seen := map[string]bool{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.TrimSpace(h)
		header[i] = h
		switch {
		case !slices.Contains(known, h):
			return nil, fmt.Errorf("%s:%d: unknown column %q; the columns are the InvestorInput fields %s", name, headerLine, h, strings.Join(known, ", "))
		case seen[h]:
			return nil, fmt.Errorf("%s:%d: column %s appears twice", name, headerLine, h)
		}
		seen[h] = true
	}
	for _, req := range rules.required() {
		if !seen[req] {
			return nil, fmt.Errorf("%s:%d: missing column %s; the required columns are %s", name, headerLine, req, strings.Join(rules.required(), ", "))
		}
	}

	var recs []record
	for {
		cells, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return nil, csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		obj := make(map[string]any, len(cells))
		for i, v := range cells {
			if header[i] == fieldCountry && v == "" {
				continue
			}
			obj[header[i]] = v
		}
		recs = append(recs, record{line: line, value: obj})
	}
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: not valid CSV: %v", name, pe.Line, pe.Err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// readJSONL reads one JSON value per line; blank lines are skipped. A value
// that is not an object is a row the server would fail, so it is kept for
// validation; a line that is not JSON at all stops the import.
func readJSONL(r io.Reader, name string) ([]record, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var recs []record
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\ufeff"))
		}
		if t := bytes.TrimSpace(b); len(t) > 0 {
			var v any
			if jerr := json.Unmarshal(t, &v); jerr != nil {
				return nil, fmt.Errorf("%s:%d: not a JSON value: %v", name, line, jerr)
			}
			recs = append(recs, record{line: line, value: v})
		}
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
}
