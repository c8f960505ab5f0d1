package importer

import (
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/rows"
)

// Field names the importer handles itself.
const (
	fieldPartnerInvestorID = "partnerInvestorId"
	fieldCountry           = "countryOfResidence"
)

// rowError is a row that fails locally.
type rowError struct {
	code, field, message string
}

// rowRules checks rows with the server's own row rules, so that the rules
// live in the contract alone and a row that passes here passes there.
type rowRules struct {
	checker *rows.RowChecker
}

func newRowRules(doc *openapi3.T, now time.Time) (*rowRules, error) {
	c, err := rows.NewRowChecker(doc, func() time.Time { return now })
	if err != nil {
		return nil, err
	}
	return &rowRules{checker: c}, nil
}

// columns returns the row's property names, required first.
func (r *rowRules) columns() []string { return r.checker.Fields() }

// required returns the names of the required properties.
func (r *rowRules) required() []string { return r.checker.Required() }

// check validates one decoded row, which it may modify, and returns it as
// the client sends it. echo is its partnerInvestorId as submitted, when that
// is a string, whatever else is wrong with the row.
func (r *rowRules) check(value any) (client.InvestorInput, *string, *rowError) {
	row, echo, rerr := r.checker.Check(value)
	if rerr != nil {
		return client.InvestorInput{}, echo, &rowError{code: rerr.Code, field: rerr.Field, message: rerr.Message}
	}
	// The checker accepted the date as YYYY-MM-DD.
	dob, _ := time.Parse(time.DateOnly, row.DateOfBirth)
	return client.InvestorInput{
		PartnerInvestorId:  row.PartnerInvestorID,
		Email:              openapi_types.Email(row.Email),
		FirstName:          row.FirstName,
		LastName:           row.LastName,
		DateOfBirth:        openapi_types.Date{Time: dob},
		CountryOfResidence: row.CountryOfResidence,
	}, echo, nil
}
