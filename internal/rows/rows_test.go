package rows

import (
	"encoding/json"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/zestequity/zest-api/internal/spec"
)

func validator(t testing.TB) *rowValidator {
	t.Helper()
	doc, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	v, err := newRowValidator(doc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func decode(t testing.TB, row string) any {
	var v any
	if err := json.Unmarshal([]byte(row), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Several faults in one row: the first field in declared order is reported.
func TestFirstFailingFieldIsReported(t *testing.T) {
	v := validator(t)
	for _, c := range []struct{ row, code, field string }{
		{`{"email":"x","firstName":"A","lastName":"B","dateOfBirth":"bad"}`, CodeRequired, "partnerInvestorId"},
		{`{"partnerInvestorId":"p","email":"x","dateOfBirth":"bad"}`, CodeFormat, "email"},
		{`{"partnerInvestorId":"p","email":"a@b.co","firstName":"A","lastName":"B","dateOfBirth":"bad","zzz":1,"aaa":2}`, CodeFormat, "dateOfBirth"},
		{`{"partnerInvestorId":"p","email":"a@b.co","firstName":"A","lastName":"B","dateOfBirth":"2000-01-01","zzz":1,"aaa":2}`, CodeUnknownField, "aaa"},
	} {
		_, _, err := v.check(decode(t, c.row), "2026-11-27")
		if err == nil || err.Code != c.code || err.Field != c.field {
			t.Errorf("%s: got %+v, want %s on %s", c.row, err, c.code, c.field)
		}
	}
}

// Messages never quote what was submitted.
func TestRowMessagesDoNotEchoValues(t *testing.T) {
	v := validator(t)
	secret := "Zelda-Secret-Value"
	for _, row := range []string{
		`{"partnerInvestorId":"p","email":"` + secret + `","firstName":"A","lastName":"B","dateOfBirth":"2000-01-01"}`,
		`{"partnerInvestorId":"p","email":"a@b.co","firstName":"A","lastName":"B","dateOfBirth":"` + secret + `"}`,
		`{"partnerInvestorId":"p","email":"a@b.co","firstName":"` + strings.Repeat(secret, 20) + `","lastName":"B","dateOfBirth":"2000-01-01"}`,
		`{"partnerInvestorId":"p","email":"a@b.co","firstName":"A","lastName":"B","dateOfBirth":"2000-01-01","countryOfResidence":"` + secret + `"}`,
	} {
		_, _, err := v.check(decode(t, row), "2026-11-27")
		if err == nil || strings.Contains(err.Message, secret) || strings.Contains(err.Message, "Zelda") {
			t.Errorf("%s: %+v", row, err)
		}
	}
}

func TestToday(t *testing.T) {
	// Late on 27 November in UTC it is already the 28th in Kiribati.
	if got := today(time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)); got != "2026-11-28" {
		t.Errorf("today = %s", got)
	}
	if got := today(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)); got != "2026-11-27" {
		t.Errorf("today = %s", got)
	}
}

func TestCountryLists(t *testing.T) {
	if len(isoCountries) != 249 {
		t.Errorf("%d ISO 3166-1 codes, want 249", len(isoCountries))
	}
	for c := range riskRated {
		if !isoCountries[c] {
			t.Errorf("risk-rated %s is not an ISO 3166-1 code", c)
		}
	}
	if !riskRated["AE"] || !riskRated["JM"] || riskRated["AQ"] {
		t.Error("risk-rating list lost its reference countries")
	}
}

// BenchmarkValidateRow measures the per-row cost of validating against the
// spec's schema.
func BenchmarkValidateRow(b *testing.B) {
	v := validator(b)
	row := `{"partnerInvestorId":"acme-inv-7341","email":"alice@example.com","firstName":"Alice","lastName":"Liddell","dateOfBirth":"1985-04-12","countryOfResidence":"AE"}`
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := v.check(decode(b, row), "2026-11-27"); err != nil {
			b.Fatal(err)
		}
	}
}

// The fast path for plain addresses agrees with the full parse: whatever it
// accepts, net/mail accepts unchanged.
func FuzzPlainAddress(f *testing.F) {
	for _, s := range []string{"alice@example.com", "a.b+c@x.io", "a..b@x.io", ".a@x.io", "a@x", "a@.x.io", "a@x..io", "a b@x.io", "\"a\"@x.io", "a@[1.2.3.4]", "é@x.io", "a@b@c.io", "{a}@x.io"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !plainAddress(s) {
			return
		}
		a, err := mail.ParseAddress(s)
		if err != nil || a.Address != s {
			t.Errorf("plainAddress accepts %q, which net/mail reads as %v, %v", s, a, err)
		}
	})
}

func TestRowSchemaCompilesToTheQuickCheck(t *testing.T) {
	if validator(t).quick == nil {
		t.Fatal("the row schema uses a keyword the quick check does not implement: every row takes the slow path")
	}
}

// The quick check never accepts a row that kin-openapi rejects.
func FuzzQuickCheckAgreesWithKinOpenAPI(f *testing.F) {
	for _, row := range []string{
		`{"partnerInvestorId":"acme-inv-7341","email":"alice@example.com","firstName":"Alice","lastName":"Liddell","dateOfBirth":"1985-04-12","countryOfResidence":"AE"}`,
		`{"partnerInvestorId":"a","email":"a@b.co","firstName":"A","lastName":"B","dateOfBirth":"2000-02-29"}`,
		`{"partnerInvestorId":"a","email":"a@b.co","firstName":"A","lastName":"B","dateOfBirth":"2001-02-29"}`,
		`{"partnerInvestorId":" a","email":"a@b.co","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`,
		`{"partnerInvestorId":"a\u0007b","email":"a@b.co","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`,
		`{"partnerInvestorId":"a","email":"Alice <a@b.co>","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`,
		`{"partnerInvestorId":"a","email":"a@b.co","firstName":"😀😀","lastName":"B","dateOfBirth":"1985-04-12","countryOfResidence":"ZZ"}`,
		`{"partnerInvestorId":"a","email":"a@b.co","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12","extra":1}`,
		`{"partnerInvestorId":7,"email":"a@b.co","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`,
		`{"email":"a@b.co","firstName":"A","lastName":"B","dateOfBirth":"12/04/1985"}`,
	} {
		f.Add(row)
	}
	v := validator(f)
	f.Fuzz(func(t *testing.T, row string) {
		var value any
		if json.Unmarshal([]byte(row), &value) != nil {
			return
		}
		obj, ok := value.(map[string]any)
		if !ok || !v.quick.accepts(obj) {
			return
		}
		if err := v.schema.VisitJSON(obj, v.opts...); err != nil {
			t.Errorf("the quick check accepts %s, which kin-openapi rejects: %v", row, err)
		}
	})
}

// A well-formed date that names no day keeps the code format, and says the
// day does not exist rather than repeating the format.
func TestImpossibleDateSaysTheDayDoesNotExist(t *testing.T) {
	v := validator(t)
	for dob, want := range map[string]string{
		"1985-02-30": "that day does not exist",
		"2001-02-29": "that day does not exist",
		"1990-13-01": "that day does not exist",
		"1985-2-3":   "dateOfBirth must be YYYY-MM-DD",
		"85-02-03xx": "dateOfBirth must be YYYY-MM-DD",
	} {
		row := `{"partnerInvestorId":"p","email":"a@b.co","firstName":"A","lastName":"B","dateOfBirth":"` + dob + `"}`
		_, _, err := v.check(decode(t, row), "2026-11-27")
		if err == nil || err.Code != CodeFormat || err.Field != FieldDateOfBirth || !strings.Contains(err.Message, want) {
			t.Errorf("%s: got %+v, want format on dateOfBirth saying %q", dob, err, want)
		}
	}
}
