package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/zestequity/zest-api/generated/client"
)

// batch is one request: its rows, its body and its Idempotency-Key, all
// fixed once built so that every attempt sends the same request.
type batch struct {
	label string // names the batch in messages
	key   string
	rows  []int // indexes into run.rows, in input order
	body  []byte
}

// newBatch encodes the rows and derives the key from the seed and the body:
// the same rows under the same seed always make the same request, with the
// same key.
func newBatch(label string, seed []string, rows []row, idx []int) (*batch, error) {
	req := client.ImportInvestorsRequest{Investors: make([]client.InvestorInput, len(idx))}
	for i, ri := range idx {
		req.Investors[i] = *rows[ri].input
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	h := sha256.New()
	for _, s := range seed {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(body)
	return &batch{label: label, key: hex.EncodeToString(h.Sum(nil)), rows: idx, body: body}, nil
}

// planBatches cuts the valid rows, in input order, into batches whose keys
// depend only on the file's content and the batch size: a rerun plans the
// same batches under the same keys.
func planBatches(rows []row, fileHash string, size int) ([]*batch, error) {
	var valid []int
	for i := range rows {
		if rows[i].input != nil {
			valid = append(valid, i)
		}
	}
	n := (len(valid) + size - 1) / size
	plan := make([]*batch, 0, n)
	for chunk := range slices.Chunk(valid, size) {
		i := len(plan)
		label := fmt.Sprintf("batch %d of %d (lines %d-%d)", i+1, n, rows[chunk[0]].line, rows[chunk[len(chunk)-1]].line)
		b, err := newBatch(label, []string{"planned", fileHash, strconv.Itoa(i)}, rows, chunk)
		if err != nil {
			return nil, err
		}
		plan = append(plan, b)
	}
	return plan, nil
}

// resendBatch builds a batch of rows that failed transiently. A request
// that was answered keeps its answer under its key for a day, so a resend
// must never reuse one: its seed is the number of answers journaled so far,
// which grows with every answer, in this run or an earlier one.
func resendBatch(rows []row, idx []int, fileHash string, answered int) (*batch, error) {
	label := fmt.Sprintf("resend of %d rows (lines %d-%d)", len(idx), rows[idx[0]].line, rows[idx[len(idx)-1]].line)
	return newBatch(label, []string{"resend", fileHash, strconv.Itoa(answered)}, rows, idx)
}
