package rows

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// RowSchemaName is the component of openapi.yaml that defines an import row.
// The spec is the single source of the row rules: each row is validated
// against this schema here, while the request envelope is validated by the
// HTTP middleware.
const RowSchemaName = "InvestorInput"

// Row error codes, as declared by the RowError schema.
const (
	CodeRequired     = "required"
	CodeFormat       = "format"
	CodeTooLong      = "too_long"
	CodeOutOfRange   = "out_of_range"
	CodeUnknownField = "unknown_field"
	CodeDuplicate    = "duplicate"
	CodeConflict     = "conflict"
	CodeUnavailable  = "unavailable"
)

// NotUTF8 stands, in a decoded row, for a value whose submitted bytes were
// not UTF-8, or for the whole row when a field name's were: JSON decoding
// would have read each bad byte as U+FFFD, a character the client never
// sent.
type NotUTF8 struct{}

// Field names of a row.
const (
	FieldPartnerInvestorID = "partnerInvestorId"
	FieldEmail             = "email"
	FieldFirstName         = "firstName"
	FieldLastName          = "lastName"
	FieldDateOfBirth       = "dateOfBirth"
	FieldCountry           = "countryOfResidence"
)

// minDateOfBirth is the earliest plausible date of birth.
const minDateOfBirth = "1900-01-01"

// RowError explains why a row failed.
type RowError struct {
	Code      string
	Field     string // empty when the failure concerns the whole row
	Message   string
	Retryable bool
}

// Row is a row that passed validation, with its values normalised.
type Row struct {
	PartnerInvestorID  string
	Email              string
	EmailNormalized    string
	FirstName          string
	LastName           string
	DateOfBirth        string
	CountryOfResidence *string
}

// rowValidator checks rows against the spec's row schema.
type rowValidator struct {
	schema *openapi3.Schema
	fields []string     // declared order: the first failing field is reported
	quick  *quickSchema // nil when the schema outgrows it
	opts   []openapi3.SchemaValidationOption
}

func newRowValidator(doc *openapi3.T) (*rowValidator, error) {
	ref := doc.Components.Schemas[RowSchemaName]
	if ref == nil || ref.Value == nil {
		return nil, fmt.Errorf("openapi.yaml has no components.schemas.%s", RowSchemaName)
	}
	s := ref.Value
	for _, name := range []string{FieldPartnerInvestorID, FieldEmail, FieldFirstName, FieldLastName, FieldDateOfBirth, FieldCountry} {
		if s.Properties[name] == nil {
			return nil, fmt.Errorf("openapi.yaml: %s has no property %s", RowSchemaName, name)
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
	fields = append(fields, optional...)

	// kin-openapi checks format: date itself (a real calendar date); the
	// formats below are ours, and apply to this validation only.
	formats := map[string]openapi3.StringFormatValidator{
		"email":          openapi3.NewCallbackValidator(checkEmail),
		"iso3166-alpha2": openapi3.NewCallbackValidator(checkCountry),
	}
	return &rowValidator{
		schema: s,
		fields: fields,
		quick:  compileQuick(s, formats),
		opts: []openapi3.SchemaValidationOption{
			openapi3.MultiErrors(),
			openapi3.VisitAsRequest(),
			openapi3.WithStringFormatValidators(formats),
		},
	}, nil
}

// check validates one row, a decoded JSON value, which it may modify. echo
// is the row's partnerInvestorId when it is a string, whatever else is wrong
// with the row.
func (v *rowValidator) check(value any, today string) (row Row, echo *string, rerr *RowError) {
	if _, ok := value.(NotUTF8); ok {
		return row, nil, &RowError{Code: CodeFormat, Message: "a field name of the row is not UTF-8 text"}
	}
	obj, ok := value.(map[string]any)
	if !ok {
		return row, nil, &RowError{Code: CodeFormat, Message: "each row must be a JSON object"}
	}
	if pid, ok := obj[FieldPartnerInvestorID].(string); ok {
		echo = &pid
	}
	if k := v.firstNotUTF8(obj); k != "" {
		return row, echo, &RowError{Code: CodeFormat, Field: k, Message: k + " is not UTF-8 text"}
	}

	// A null or blank value counts as missing. Other strings, except the
	// partnerInvestorId join key, are stored trimmed.
	for k, val := range obj {
		switch x := val.(type) {
		case nil:
			delete(obj, k)
		case string:
			t := strings.TrimSpace(x)
			if t == "" {
				delete(obj, k)
			} else if k != FieldPartnerInvestorID {
				obj[k] = t
			}
		}
	}

	if v.quick == nil || !v.quick.accepts(obj) {
		if err := v.schema.VisitJSON(obj, v.opts...); err != nil {
			return row, echo, v.firstError(err, obj)
		}
	}

	row = Row{
		PartnerInvestorID: obj[FieldPartnerInvestorID].(string),
		Email:             obj[FieldEmail].(string),
		FirstName:         obj[FieldFirstName].(string),
		LastName:          obj[FieldLastName].(string),
		DateOfBirth:       obj[FieldDateOfBirth].(string),
	}
	row.EmailNormalized = strings.ToLower(row.Email)
	if c, ok := obj[FieldCountry].(string); ok {
		row.CountryOfResidence = &c
	}
	// ISO dates compare correctly as strings.
	if row.DateOfBirth < minDateOfBirth || row.DateOfBirth > today {
		return row, echo, &RowError{Code: CodeOutOfRange, Field: FieldDateOfBirth,
			Message: "dateOfBirth must be between " + minDateOfBirth + " and today"}
	}
	return row, echo, nil
}

// firstError maps the schema violations to the row error of the first failing
// field in declared order; within a field, a missing value comes first, then
// a wrong type, then length, then format.
func (v *rowValidator) firstError(err error, obj map[string]any) *RowError {
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
	var best *RowError
	bestRank := 0
	for _, se := range errs {
		re := v.rowError(se, obj)
		if re == nil {
			continue
		}
		rank := v.fieldIndex(re.Field)*10 + codeRank(re.Code)
		if best == nil || rank < bestRank {
			best, bestRank = re, rank
		}
	}
	if best == nil {
		// Every rule of the schema is mapped above; reaching this means the
		// spec gained a rule this code does not know yet.
		return &RowError{Code: CodeFormat, Message: "the row does not match the InvestorInput schema"}
	}
	return best
}

// firstNotUTF8 returns the first field of obj, in declared order, that
// stands for bytes that were not UTF-8.
func (v *rowValidator) firstNotUTF8(obj map[string]any) string {
	var bad []string
	for k, val := range obj {
		if _, ok := val.(NotUTF8); ok {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return ""
	}
	slices.SortFunc(bad, func(a, b string) int {
		if d := v.fieldIndex(a) - v.fieldIndex(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return bad[0]
}

func (v *rowValidator) fieldIndex(field string) int {
	if i := slices.Index(v.fields, field); i >= 0 {
		return i
	}
	return len(v.fields)
}

func codeRank(code string) int {
	switch code {
	case CodeRequired:
		return 0
	case CodeUnknownField:
		return 1
	case CodeTooLong:
		return 3
	}
	return 2 // format, including a wrong type
}

// rowError turns one schema violation into a row error. Messages are ours:
// kin-openapi's reasons may quote the submitted value, which can be PII.
func (v *rowValidator) rowError(se *openapi3.SchemaError, obj map[string]any) *RowError {
	path := se.JSONPointer()
	field := ""
	if len(path) > 0 {
		field = path[0]
	}
	switch se.SchemaField {
	case "required":
		return &RowError{Code: CodeRequired, Field: field, Message: field + " is required"}
	case "properties":
		// kin-openapi names the unknown property only in its reason text.
		if k := unknownKey(v.schema, obj); k != "" {
			return &RowError{Code: CodeUnknownField, Field: k, Message: k + " is not a field of an investor row"}
		}
	case "minLength":
		return &RowError{Code: CodeRequired, Field: field, Message: field + " is required"}
	case "maxLength":
		max := uint64(0)
		if se.Schema != nil && se.Schema.MaxLength != nil {
			max = *se.Schema.MaxLength
		}
		return &RowError{Code: CodeTooLong, Field: field, Message: fmt.Sprintf("%s must be at most %d characters", field, max)}
	case "type":
		return &RowError{Code: CodeFormat, Field: field, Message: field + " must be a string"}
	case "format", "pattern":
		if field == FieldDateOfBirth {
			if v, ok := obj[field].(string); ok && impossibleDate(v) {
				return &RowError{Code: CodeFormat, Field: field,
					Message: "dateOfBirth is written as YYYY-MM-DD but that day does not exist"}
			}
		}
		return &RowError{Code: CodeFormat, Field: field, Message: formatMessage(field)}
	}
	return nil
}

// unknownKey returns the first (in sort order) key of obj that the schema
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
	if len(k) > 64 { // the name is echoed back; keep it short
		k = append(k[:64], '…')
	}
	return string(k)
}

// impossibleDate reports whether v has the shape YYYY-MM-DD but names no
// calendar day (1985-02-30, 2001-02-29, 1990-13-01): the partner then needs
// to check the value, not its format.
func impossibleDate(v string) bool {
	if len(v) != 10 || v[4] != '-' || v[7] != '-' {
		return false
	}
	for i, c := range []byte(v) {
		if i != 4 && i != 7 && (c < '0' || c > '9') {
			return false
		}
	}
	_, err := time.Parse(time.DateOnly, v)
	return err != nil
}

func formatMessage(field string) string {
	switch field {
	case FieldDateOfBirth:
		return "dateOfBirth must be YYYY-MM-DD"
	case FieldEmail:
		return "email must be a valid email address"
	case FieldCountry:
		return "countryOfResidence must be an ISO 3166-1 alpha-2 code in upper case, such as AE"
	case FieldPartnerInvestorID:
		return "partnerInvestorId must not have surrounding whitespace or control characters"
	case FieldFirstName, FieldLastName:
		return field + " must not contain control characters"
	}
	return field + " is not in the expected format"
}

// checkEmail accepts a bare address (no display name, no comments) whose
// domain has a dot, and which reads back unchanged: what we store is exactly
// what the partner sent.
func checkEmail(s string) error {
	if plainAddress(s) {
		return nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return errors.New("invalid email")
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return errors.New("invalid email domain")
	}
	return nil
}

// plainAddress reports the common case cheaply: ASCII dot-atom@dot-atom with
// a dot in the domain, which net/mail parses back unchanged. Anything else
// takes the full parse.
func plainAddress(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	return dotAtom(local) && dotAtom(domain) && strings.IndexByte(domain, '.') > 0
}

// dotAtom reports whether s is atext characters in dot-separated runs
// (RFC 5322 section 3.2.3).
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	prevDot := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if prevDot {
				return false
			}
			prevDot = true
			continue
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
		prevDot = false
	}
	return true
}

func checkCountry(s string) error {
	if !isoCountries[s] {
		return errors.New("not an ISO 3166-1 alpha-2 code")
	}
	return nil
}

// today returns the latest calendar date anywhere on Earth (UTC+14), so that
// an investor born today in any time zone is accepted.
func today(now time.Time) string {
	return now.UTC().Add(14 * time.Hour).Format(time.DateOnly)
}
