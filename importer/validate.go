package importer

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/zestequity/zest-api/generated/client"
)

// rowSchemaName is the component of openapi.yaml that defines an import row;
// the server validates each row against it, and so do we, so that the rules
// live in the contract alone.
const rowSchemaName = "InvestorInput"

// Row error codes, as declared by the RowError schema.
const (
	codeRequired     = "required"
	codeFormat       = "format"
	codeTooLong      = "too_long"
	codeOutOfRange   = "out_of_range"
	codeUnknownField = "unknown_field"
	codeDuplicate    = "duplicate"
)

const (
	fieldPartnerInvestorID = "partnerInvestorId"
	fieldEmail             = "email"
	fieldFirstName         = "firstName"
	fieldLastName          = "lastName"
	fieldDateOfBirth       = "dateOfBirth"
	fieldCountry           = "countryOfResidence"
)

// minDateOfBirth is the server's earliest accepted date of birth, a rule the
// schema states only in prose.
const minDateOfBirth = "1900-01-01"

// rowError is a row that fails locally.
type rowError struct {
	code, field, message string
}

// rowRules checks rows the way the server does: the same schema, the same
// normalisation, the same choice of which violation to report.
type rowRules struct {
	schema *openapi3.Schema
	fields []string // declared order: the first failing field is reported
	opts   []openapi3.SchemaValidationOption
	today  string
}

func newRowRules(doc *openapi3.T, now time.Time) (*rowRules, error) {
	ref := doc.Components.Schemas[rowSchemaName]
	if ref == nil || ref.Value == nil {
		return nil, fmt.Errorf("openapi.yaml has no components.schemas.%s", rowSchemaName)
	}
	s := ref.Value
	for _, name := range []string{fieldPartnerInvestorID, fieldEmail, fieldFirstName, fieldLastName, fieldDateOfBirth, fieldCountry} {
		if s.Properties[name] == nil {
			return nil, fmt.Errorf("openapi.yaml: %s has no property %s", rowSchemaName, name)
		}
	}
	fields := slices.Clone(s.Required)
	var optional []string
	for name := range s.Properties {
		if !slices.Contains(fields, name) {
			optional = append(optional, name)
		}
	}
	slices.Sort(optional)
	return &rowRules{
		schema: s,
		fields: append(fields, optional...),
		opts: []openapi3.SchemaValidationOption{
			openapi3.MultiErrors(),
			openapi3.VisitAsRequest(),
			openapi3.WithStringFormatValidator("email", openapi3.NewCallbackValidator(checkEmail)),
			openapi3.WithStringFormatValidator("iso3166-alpha2", openapi3.NewCallbackValidator(checkCountry)),
		},
		// The latest calendar date anywhere on Earth (UTC+14), as the server
		// reckons it.
		today: now.UTC().Add(14 * time.Hour).Format(time.DateOnly),
	}, nil
}

// columns returns the row's property names, required first.
func (r *rowRules) columns() []string { return r.fields }

// required returns the names of the required properties.
func (r *rowRules) required() []string { return r.schema.Required }

// check validates one decoded row. echo is its partnerInvestorId as
// submitted, when that is a string, whatever else is wrong with the row.
func (r *rowRules) check(value any) (in client.InvestorInput, echo *string, rerr *rowError) {
	obj, ok := value.(map[string]any)
	if !ok {
		return in, nil, &rowError{code: codeFormat, message: "each row must be a JSON object"}
	}
	if pid, ok := obj[fieldPartnerInvestorID].(string); ok {
		echo = &pid
	}
	obj = normalise(obj)
	if err := r.schema.VisitJSON(obj, r.opts...); err != nil {
		return in, echo, r.firstError(err, obj)
	}
	in = client.InvestorInput{
		PartnerInvestorId: obj[fieldPartnerInvestorID].(string),
		Email:             openapi_types.Email(obj[fieldEmail].(string)),
		FirstName:         obj[fieldFirstName].(string),
		LastName:          obj[fieldLastName].(string),
	}
	dob := obj[fieldDateOfBirth].(string)
	if dob < minDateOfBirth || dob > r.today { // ISO dates compare as strings
		return in, echo, &rowError{code: codeOutOfRange, field: fieldDateOfBirth,
			message: "dateOfBirth must be between " + minDateOfBirth + " and today"}
	}
	t, err := time.Parse(time.DateOnly, dob)
	if err != nil {
		return in, echo, &rowError{code: codeFormat, field: fieldDateOfBirth, message: formatMessage(fieldDateOfBirth)}
	}
	in.DateOfBirth = openapi_types.Date{Time: t}
	if c, ok := obj[fieldCountry].(string); ok {
		in.CountryOfResidence = &c
	}
	return in, echo, nil
}

// normalise returns a copy of obj as the server sees it: a null or blank
// value is missing, and strings other than the partnerInvestorId join key
// are trimmed.
func normalise(obj map[string]any) map[string]any {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		switch x := v.(type) {
		case nil:
			continue
		case string:
			t := strings.TrimSpace(x)
			if t == "" {
				continue
			}
			if k != fieldPartnerInvestorID {
				v = t
			}
		}
		out[k] = v
	}
	return out
}

// firstError reports the violation of the first failing field in declared
// order; within a field, a missing value comes first, then a wrong type,
// then length, then format.
func (r *rowRules) firstError(err error, obj map[string]any) *rowError {
	var errs []*openapi3.SchemaError
	var me openapi3.MultiError
	if errors.As(err, &me) {
		for _, e := range me {
			var se *openapi3.SchemaError
			if errors.As(e, &se) {
				errs = append(errs, se)
			}
		}
	} else {
		var se *openapi3.SchemaError
		if errors.As(err, &se) {
			errs = append(errs, se)
		}
	}
	var best *rowError
	bestRank := 0
	for _, se := range errs {
		re := r.rowError(se, obj)
		if re == nil {
			continue
		}
		rank := r.fieldIndex(re.field)*10 + codeRank(re.code)
		if best == nil || rank < bestRank {
			best, bestRank = re, rank
		}
	}
	if best == nil {
		// The schema gained a rule this code does not map; the row fails all
		// the same, as it would on the server.
		return &rowError{code: codeFormat, message: "the row does not match the InvestorInput schema"}
	}
	return best
}

func (r *rowRules) fieldIndex(field string) int {
	if i := slices.Index(r.fields, field); i >= 0 {
		return i
	}
	return len(r.fields)
}

func codeRank(code string) int {
	switch code {
	case codeRequired:
		return 0
	case codeUnknownField:
		return 1
	case codeTooLong:
		return 3
	}
	return 2
}

// rowError turns one schema violation into a row error. The messages are
// ours because kin-openapi's may quote the value, which can be PII.
func (r *rowRules) rowError(se *openapi3.SchemaError, obj map[string]any) *rowError {
	field := ""
	if path := se.JSONPointer(); len(path) > 0 {
		field = path[0]
	}
	switch se.SchemaField {
	case "required", "minLength":
		return &rowError{code: codeRequired, field: field, message: field + " is required"}
	case "properties":
		// kin-openapi names the unknown property only in its reason text.
		if k := unknownKey(r.schema, obj); k != "" {
			return &rowError{code: codeUnknownField, field: k, message: k + " is not a field of an investor row"}
		}
	case "maxLength":
		limit := uint64(0)
		if se.Schema != nil && se.Schema.MaxLength != nil {
			limit = *se.Schema.MaxLength
		}
		return &rowError{code: codeTooLong, field: field, message: fmt.Sprintf("%s must be at most %d characters", field, limit)}
	case "type":
		return &rowError{code: codeFormat, field: field, message: field + " must be a string"}
	case "format", "pattern":
		return &rowError{code: codeFormat, field: field, message: formatMessage(field)}
	}
	return nil
}

// unknownKey returns the first, in sort order, of obj's keys that the schema
// does not define.
func unknownKey(s *openapi3.Schema, obj map[string]any) string {
	var unknown []string
	for k := range obj {
		if s.Properties[k] == nil {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return ""
	}
	k := []rune(slices.Min(unknown))
	if len(k) > 64 {
		k = append(k[:64], '…')
	}
	return string(k)
}

func formatMessage(field string) string {
	switch field {
	case fieldDateOfBirth:
		return "dateOfBirth must be YYYY-MM-DD"
	case fieldEmail:
		return "email must be a valid email address"
	case fieldCountry:
		return "countryOfResidence must be an ISO 3166-1 alpha-2 code in upper case, such as AE"
	case fieldPartnerInvestorID:
		return "partnerInvestorId must not have surrounding whitespace or control characters"
	}
	return field + " is not in the expected format"
}

// checkEmail is the server's rule: a bare address whose domain has a dot,
// and which reads back unchanged.
func checkEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return errors.New("invalid email")
	}
	domain := s[strings.LastIndexByte(s, '@')+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return errors.New("invalid email domain")
	}
	return nil
}

func checkCountry(s string) error {
	if !isoCountries[s] {
		return errors.New("not an ISO 3166-1 alpha-2 code")
	}
	return nil
}
