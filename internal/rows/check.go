// Package rows holds the investor row rules, derived from openapi.yaml's row
// schema: the server's investor service and the import command's local check
// apply the same rules. It depends on the spec alone, so that the import
// command links no database code.
package rows

import (
	"slices"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// RowChecker applies the server's row rules before rows are sent, for
// clients that validate a file locally first (zest-api import): the same
// schema, the same normalisation, the same choice of which violation to
// report, so that what it accepts the server accepts.
type RowChecker struct {
	rows *rowValidator
	now  func() time.Time
}

// NewRowChecker returns a checker of doc's row schema; now is the clock that
// dates of birth are checked against.
func NewRowChecker(doc *openapi3.T, now func() time.Time) (*RowChecker, error) {
	rv, err := newRowValidator(doc)
	if err != nil {
		return nil, err
	}
	return &RowChecker{rows: rv, now: now}, nil
}

// Check validates one row, a decoded JSON value, which it may modify. echo
// is the row's partnerInvestorId when it is a string, whatever else is wrong
// with the row.
func (c *RowChecker) Check(value any) (Row, *string, *RowError) {
	return c.rows.check(value, today(c.now()))
}

// Today returns the day that dates of birth are checked against, for
// CheckOn: a batch is checked against one day, even across midnight.
func (c *RowChecker) Today() string { return today(c.now()) }

// CheckOn is Check against a day that Today returned.
func (c *RowChecker) CheckOn(value any, day string) (Row, *string, *RowError) {
	return c.rows.check(value, day)
}

// Fields lists a row's fields: the required ones first, in the spec's order.
func (c *RowChecker) Fields() []string { return slices.Clone(c.rows.fields) }

// Required lists the required fields.
func (c *RowChecker) Required() []string { return slices.Clone(c.rows.schema.Required) }
