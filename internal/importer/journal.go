package importer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
)

// The journal is the import's persisted state, next to the results file (its
// path plus ".journal"): a JSON Lines file whose first line ties it to one
// input content, batch size, server and token, followed by one entry per
// answered request, with its Idempotency-Key and the outcome of each of its
// rows. An entry is synced to disk before its answer is acted on, so that an
// import killed at any point leaves a journal that is right up to its last
// answered request; a rerun skips the planned batches the journal records
// and sends the others under their planned keys.

const journalVersion = 1

type journalHeader struct {
	Journal   int    `json:"journal"`
	File      string `json:"file"` // SHA-256 of the input's content
	BatchSize int    `json:"batchSize"`
	Server    string `json:"server"`
	Tenant    string `json:"tenant"` // tokenFingerprint of the token
}

type journalEntry struct {
	Key  string       `json:"key"`
	Rows []journalRow `json:"rows"`
}

type journalRow struct {
	Line int `json:"line"`
	outcome
}

type journal struct {
	f       *os.File
	entries int
}

// tenantFingerprint is the token's fingerprint, or with a key the client
// id's: access tokens change during an import, the tenant does not.
func (o Options) tenantFingerprint() string {
	if o.Token == "" {
		return tokenFingerprint("client:" + o.ClientID)
	}
	return tokenFingerprint(o.Token)
}

// tokenFingerprint tells tokens apart without storing one: a journal written
// with another tenant's token must not vouch for this tenant's rows.
func tokenFingerprint(token string) string {
	sum := sha256.Sum256([]byte("zest-api import token\x00" + token))
	return hex.EncodeToString(sum[:8])
}

// openJournal returns the entries of the journal at path if its header is
// want's, and the journal opened for appending; any other journal is
// replaced by a new one.
func openJournal(path string, want journalHeader) (*journal, []journalEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	entries, good := parseJournal(data, want)
	if good == 0 {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, nil, err
		}
		j := &journal{f: f}
		if err := j.writeLine(want); err != nil {
			f.Close()
			return nil, nil, err
		}
		return j, nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, err
	}
	// A torn last line, from a process killed mid-write, is cut off so that
	// the next entry starts on a line of its own.
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, nil, err
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, err
	}
	return &journal{f: f, entries: len(entries)}, entries, nil
}

// parseJournal returns the entries of data and the length of its complete
// lines, or 0 when data is not a journal with the header want.
func parseJournal(data []byte, want journalHeader) ([]journalEntry, int64) {
	var entries []journalEntry
	var good int64
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return entries, good
		}
		line := data[:i]
		if good == 0 {
			var h journalHeader
			if json.Unmarshal(line, &h) != nil || h != want {
				return nil, 0
			}
		} else {
			var e journalEntry
			if json.Unmarshal(line, &e) != nil || e.Key == "" {
				return entries, good
			}
			entries = append(entries, e)
		}
		good += int64(i + 1)
		data = data[i+1:]
	}
}

// append records an answered request.
func (j *journal) append(e journalEntry) error {
	if err := j.writeLine(e); err != nil {
		return err
	}
	j.entries++
	return nil
}

func (j *journal) writeLine(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return err
	}
	return j.f.Sync()
}

func (j *journal) close() error { return j.f.Close() }
