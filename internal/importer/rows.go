package importer

import (
	"fmt"
	"strings"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/rows"
)

// Row statuses of the results file: the server's three, and pending for a
// row that the import stopped before it was answered.
const (
	statusCreated       = string(client.RowStatusCreated)
	statusAlreadyExists = string(client.RowStatusAlreadyExists)
	statusFailed        = string(client.RowStatusFailed)
	statusPending       = "pending"
)

// outcome is what is known of a row; it is also what the journal records.
type outcome struct {
	Status       string `json:"status"`
	ZestPersonID string `json:"zestPersonId,omitempty"`
	ErrorCode    string `json:"errorCode,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
	Retryable    bool   `json:"retryable,omitempty"`
}

// row is one input row and its outcome so far.
type row struct {
	line    int
	pid     *string               // as submitted, when a string
	input   *client.InvestorInput // nil when the row failed locally
	out     outcome
	resumed bool // out was recorded by an earlier run
}

// validateRows checks every record against the row rules, and fails each
// later occurrence of a partnerInvestorId in the file as the server fails it
// within a batch: the first occurrence is the one imported, whatever else is
// wrong with it.
func validateRows(recs []record, rules *rowRules) []row {
	checked := make([]row, len(recs))
	firstLine := make(map[string]int, len(recs))
	for i, rec := range recs {
		in, echo, rerr := rules.check(rec.value)
		checked[i] = row{line: rec.line, pid: echo}
		if echo != nil && strings.TrimSpace(*echo) != "" {
			if first, seen := firstLine[*echo]; seen {
				rerr = &rowError{code: rows.CodeDuplicate, field: fieldPartnerInvestorID,
					message: fmt.Sprintf("partnerInvestorId already appears earlier in this file (line %d)", first)}
			} else {
				firstLine[*echo] = rec.line
			}
		}
		if rerr != nil {
			checked[i].out = outcome{Status: statusFailed, ErrorCode: rerr.code, ErrorMessage: rerr.message}
			continue
		}
		checked[i].input = &in
		checked[i].out = outcome{Status: statusPending}
	}
	return checked
}

// outcomeOf reads the server's answer to a row.
func outcomeOf(res client.RowResult) outcome {
	o := outcome{Status: string(res.Status)}
	if res.ZestPersonId != nil {
		o.ZestPersonID = *res.ZestPersonId
	}
	if res.Error != nil {
		o.ErrorCode, o.ErrorMessage, o.Retryable = string(res.Error.Code), res.Error.Message, res.Error.Retryable
	}
	if o.Status != statusCreated && o.Status != statusAlreadyExists && o.Status != statusFailed {
		o = outcome{Status: statusFailed, ErrorMessage: fmt.Sprintf("the server answered the unknown status %q", res.Status)}
	}
	return o
}

// tally counts rows by outcome.
type tally struct {
	created, alreadyExists, failed, resend, pending int
}

func (t *tally) add(o outcome, n int) {
	switch {
	case o.Status == statusCreated:
		t.created += n
	case o.Status == statusAlreadyExists:
		t.alreadyExists += n
	case o.Status == statusFailed && o.Retryable:
		t.resend += n
	case o.Status == statusFailed:
		t.failed += n
	default:
		t.pending += n
	}
}

func (t tally) total() int { return t.created + t.alreadyExists + t.failed + t.resend + t.pending }

// settled counts the rows whose outcome is final.
func (t tally) settled() int { return t.created + t.alreadyExists + t.failed }
