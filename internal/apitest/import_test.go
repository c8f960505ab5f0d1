package apitest

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/testkit"
)

const referenceBatch = `{"investors":[
  {"partnerInvestorId":"acme-inv-7341","email":"alice@example.com","firstName":"Alice","lastName":"Liddell","dateOfBirth":"1985-04-12","countryOfResidence":"AE"},
  {"partnerInvestorId":"acme-inv-7342","email":"bob@example.com","firstName":"Bob","lastName":"Marley","dateOfBirth":"1980-02-06","countryOfResidence":"JM"}
]}`

var personID = regexp.MustCompile(`^psn_[0-9a-z]{36}$`)

// The reference's example batch: created twice, then already_exists with the
// same ids, and each id reads back as stored.
func TestReferenceBatch(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})

		first := e.importRaw(t, referenceBatch)
		if first.JSON200 == nil {
			t.Fatalf("status %d: %s", first.StatusCode(), first.Body)
		}
		res := *first.JSON200
		wantRow(t, res, 0, client.RowStatusCreated, "", "")
		wantRow(t, res, 1, client.RowStatusCreated, "", "")
		if res.Summary != (client.ImportSummary{Created: 2}) {
			t.Errorf("summary %+v", res.Summary)
		}
		alice, bob := *res.Results[0].ZestPersonId, *res.Results[1].ZestPersonId
		if !personID.MatchString(alice) || !personID.MatchString(bob) || alice == bob {
			t.Fatalf("ids %q %q", alice, bob)
		}
		if *res.Results[0].PartnerInvestorId != "acme-inv-7341" || *res.Results[1].PartnerInvestorId != "acme-inv-7342" {
			t.Errorf("partnerInvestorId not echoed: %s", first.Body)
		}

		again := e.importRaw(t, referenceBatch).JSON200
		wantRow(t, *again, 0, client.RowStatusAlreadyExists, "", "")
		wantRow(t, *again, 1, client.RowStatusAlreadyExists, "", "")
		if *again.Results[0].ZestPersonId != alice || *again.Results[1].ZestPersonId != bob {
			t.Errorf("replay returned other ids: %+v", again.Results)
		}
		if again.Summary != (client.ImportSummary{AlreadyExists: 2}) {
			t.Errorf("summary %+v", again.Summary)
		}

		a := e.get(t, alice)
		if a.PartnerInvestorId != "acme-inv-7341" || a.Email != "alice@example.com" || a.FirstName != "Alice" ||
			a.LastName != "Liddell" || a.DateOfBirth.String() != "1985-04-12" || *a.CountryOfResidence != "AE" ||
			a.KycManagedBy != client.InvestorKycManagedByPartner || len(a.KycFlags) != 0 || a.CreatedAt.IsZero() {
			t.Errorf("alice as stored: %+v", a)
		}
		if e.api.DB.Count(t, "people") != 2 || e.api.DB.Count(t, "users") != 2 {
			t.Errorf("want 2 people and 2 users")
		}
		checkPairs(t, e.api.DB)
	})
}

// Every row rule, in one batch: each bad row fails alone, with its code and
// field, and the good rows around it are created.
func TestRowValidation(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 201)
	cases := []struct {
		name  string
		row   string
		code  client.RowErrorCode // empty: created
		field string
		msg   string
		echo  *string
	}{
		{name: "valid", row: `{"partnerInvestorId":"ok-1","email":"ok1@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12","countryOfResidence":"AE"}`, echo: ptr("ok-1")},
		{name: "leap day", row: `{"partnerInvestorId":"ok-2","email":"ok2@example.com","firstName":"A","lastName":"B","dateOfBirth":"2000-02-29"}`, echo: ptr("ok-2")},
		{name: "null country", row: `{"partnerInvestorId":"ok-3","email":"ok3@example.com","firstName":"A","lastName":"B","dateOfBirth":"2000-01-01","countryOfResidence":null}`, echo: ptr("ok-3")},
		{name: "blank country", row: `{"partnerInvestorId":"ok-4","email":"ok4@example.com","firstName":"A","lastName":"B","dateOfBirth":"2000-01-01","countryOfResidence":"  "}`, echo: ptr("ok-4")},
		{name: "missing id", row: `{"email":"r1@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`, code: client.RowErrorCodeRequired, field: "partnerInvestorId", msg: "partnerInvestorId is required"},
		{name: "null id", row: `{"partnerInvestorId":null,"email":"r2@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`, code: client.RowErrorCodeRequired, field: "partnerInvestorId"},
		{name: "blank id", row: `{"partnerInvestorId":"   ","email":"r3@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`, code: client.RowErrorCodeRequired, field: "partnerInvestorId", echo: ptr("   ")},
		{name: "numeric id", row: `{"partnerInvestorId":7341,"email":"r4@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`, code: client.RowErrorCodeFormat, field: "partnerInvestorId"},
		{name: "id with surrounding space", row: `{"partnerInvestorId":"r5 ","email":"r5@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`, code: client.RowErrorCodeFormat, field: "partnerInvestorId", echo: ptr("r5 ")},
		{name: "id too long", row: `{"partnerInvestorId":"` + strings.Repeat("i", 129) + `","email":"r6@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`, code: client.RowErrorCodeTooLong, field: "partnerInvestorId", msg: "partnerInvestorId must be at most 128 characters", echo: ptr(strings.Repeat("i", 129))},
		{name: "missing email", row: `{"partnerInvestorId":"r7","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`, code: client.RowErrorCodeRequired, field: "email", echo: ptr("r7")},
		{name: "bad email", row: `{"partnerInvestorId":"r8","email":"not-an-email","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`, code: client.RowErrorCodeFormat, field: "email", msg: "email must be a valid email address", echo: ptr("r8")},
		{name: "email with display name", row: `{"partnerInvestorId":"r9","email":"Alice <r9@example.com>","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`, code: client.RowErrorCodeFormat, field: "email", echo: ptr("r9")},
		{name: "email without dot domain", row: `{"partnerInvestorId":"r10","email":"r10@localhost","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`, code: client.RowErrorCodeFormat, field: "email", echo: ptr("r10")},
		{name: "blank first name", row: `{"partnerInvestorId":"r11","email":"r11@example.com","firstName":" ","lastName":"B","dateOfBirth":"1985-04-12"}`, code: client.RowErrorCodeRequired, field: "firstName", echo: ptr("r11")},
		{name: "missing last name", row: `{"partnerInvestorId":"r12","email":"r12@example.com","firstName":"A","dateOfBirth":"1985-04-12"}`, code: client.RowErrorCodeRequired, field: "lastName", echo: ptr("r12")},
		{name: "first name too long", row: `{"partnerInvestorId":"r13","email":"r13@example.com","firstName":"` + long + `","lastName":"B","dateOfBirth":"1985-04-12"}`, code: client.RowErrorCodeTooLong, field: "firstName", msg: "firstName must be at most 200 characters", echo: ptr("r13")},
		{name: "control character in a name", row: `{"partnerInvestorId":"r26","email":"r26@example.com","firstName":"A\u0000B","lastName":"B","dateOfBirth":"1985-04-12"}`, code: client.RowErrorCodeFormat, field: "firstName", msg: "firstName must not contain control characters", echo: ptr("r26")},
		{name: "escape in a last name", row: `{"partnerInvestorId":"r27","email":"r27@example.com","firstName":"A","lastName":"B\u001b[31m","dateOfBirth":"1985-04-12"}`, code: client.RowErrorCodeFormat, field: "lastName", echo: ptr("r27")},
		{name: "control character in an email", row: `{"partnerInvestorId":"r28","email":"r\u0000@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12"}`, code: client.RowErrorCodeFormat, field: "email", echo: ptr("r28")},
		{name: "numeric last name", row: `{"partnerInvestorId":"r14","email":"r14@example.com","firstName":"A","lastName":42,"dateOfBirth":"1985-04-12"}`, code: client.RowErrorCodeFormat, field: "lastName", echo: ptr("r14")},
		{name: "missing date", row: `{"partnerInvestorId":"r15","email":"r15@example.com","firstName":"A","lastName":"B"}`, code: client.RowErrorCodeRequired, field: "dateOfBirth", msg: "dateOfBirth is required", echo: ptr("r15")},
		{name: "impossible date", row: `{"partnerInvestorId":"r16","email":"r16@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-02-30"}`, code: client.RowErrorCodeFormat, field: "dateOfBirth", msg: "dateOfBirth is written as YYYY-MM-DD but that day does not exist", echo: ptr("r16")},
		{name: "US date", row: `{"partnerInvestorId":"r17","email":"r17@example.com","firstName":"A","lastName":"B","dateOfBirth":"12/04/1985"}`, code: client.RowErrorCodeFormat, field: "dateOfBirth", msg: "dateOfBirth must be YYYY-MM-DD", echo: ptr("r17")},
		{name: "numeric date", row: `{"partnerInvestorId":"r18","email":"r18@example.com","firstName":"A","lastName":"B","dateOfBirth":19850412}`, code: client.RowErrorCodeFormat, field: "dateOfBirth", echo: ptr("r18")},
		{name: "date with time", row: `{"partnerInvestorId":"r19","email":"r19@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12T00:00:00Z"}`, code: client.RowErrorCodeFormat, field: "dateOfBirth", msg: "dateOfBirth must be YYYY-MM-DD", echo: ptr("r19")},
		{name: "born before 1900", row: `{"partnerInvestorId":"r20","email":"r20@example.com","firstName":"A","lastName":"B","dateOfBirth":"1899-12-31"}`, code: client.RowErrorCodeOutOfRange, field: "dateOfBirth", echo: ptr("r20")},
		{name: "born in the future", row: `{"partnerInvestorId":"r21","email":"r21@example.com","firstName":"A","lastName":"B","dateOfBirth":"2999-01-01"}`, code: client.RowErrorCodeOutOfRange, field: "dateOfBirth", echo: ptr("r21")},
		{name: "unknown country", row: `{"partnerInvestorId":"r22","email":"r22@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12","countryOfResidence":"ZZ"}`, code: client.RowErrorCodeFormat, field: "countryOfResidence", echo: ptr("r22")},
		{name: "lower-case country", row: `{"partnerInvestorId":"r23","email":"r23@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12","countryOfResidence":"ae"}`, code: client.RowErrorCodeFormat, field: "countryOfResidence", echo: ptr("r23")},
		{name: "alpha-3 country", row: `{"partnerInvestorId":"r24","email":"r24@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12","countryOfResidence":"ARE"}`, code: client.RowErrorCodeFormat, field: "countryOfResidence", echo: ptr("r24")},
		{name: "unknown field", row: `{"partnerInvestorId":"r25","email":"r25@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-04-12","middleName":"C"}`, code: client.RowErrorCodeUnknownField, field: "middleName", echo: ptr("r25")},
		{name: "string row", row: `"acme-inv-1"`, code: client.RowErrorCodeFormat},
		{name: "null row", row: `null`, code: client.RowErrorCodeFormat},
		{name: "array row", row: `[1,2]`, code: client.RowErrorCodeFormat},
		{name: "number row", row: `7`, code: client.RowErrorCodeFormat},
		{name: "empty object", row: `{}`, code: client.RowErrorCodeRequired, field: "partnerInvestorId"},
	}
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		rows := make([]string, len(cases))
		for i, c := range cases {
			rows[i] = c.row
		}
		res := e.importRawRows(t, rows...)
		created := 0
		for i, c := range cases {
			r := res.Results[i]
			if c.code == "" {
				created++
				wantRow(t, res, i, client.RowStatusCreated, "", "")
			} else {
				wantRow(t, res, i, client.RowStatusFailed, c.code, c.field)
				if c.msg != "" && r.Error != nil && r.Error.Message != c.msg {
					t.Errorf("%s: message %q, want %q", c.name, r.Error.Message, c.msg)
				}
			}
			if (c.echo == nil) != (r.PartnerInvestorId == nil) || c.echo != nil && *c.echo != *r.PartnerInvestorId {
				t.Errorf("%s: echoed partnerInvestorId %v, want %v", c.name, r.PartnerInvestorId, c.echo)
			}
		}
		if res.Summary.Created != created || res.Summary.Failed != len(cases)-created {
			t.Errorf("summary %+v", res.Summary)
		}
		if got := e.api.DB.Count(t, "people"); got != created {
			t.Errorf("%d people stored, want %d", got, created)
		}
		// The optional country, when null or blank, is stored as absent.
		if c := e.get(t, *res.Results[2].ZestPersonId).CountryOfResidence; c != nil {
			t.Errorf("null country stored as %q", *c)
		}
		checkPairs(t, e.api.DB)
	})
}

// Names and emails are stored trimmed; the email keeps its case, and is
// compared without it.
func TestValuesAreTrimmed(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		res := e.importRawRows(t, `{"partnerInvestorId":"t-1","email":"  Trim@Example.com ","firstName":" Ann ","lastName":"\tLee\n","dateOfBirth":"1990-01-01"}`)
		wantRow(t, res, 0, client.RowStatusCreated, "", "")
		got := e.get(t, *res.Results[0].ZestPersonId)
		if got.Email != "Trim@Example.com" || got.FirstName != "Ann" || got.LastName != "Lee" {
			t.Errorf("stored %q %q %q", got.Email, got.FirstName, got.LastName)
		}
		res = e.importRawRows(t, `{"partnerInvestorId":"t-2","email":"trim@example.COM","firstName":"B","lastName":"C","dateOfBirth":"1990-01-01"}`)
		wantRow(t, res, 0, client.RowStatusFailed, client.RowErrorCodeConflict, "email")
	})
}

// Repeated ids: the first occurrence is processed, every later one fails
// with duplicate, even when the first occurrence itself fails.
func TestDuplicatesWithinBatch(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		a, b := row("dup-a"), row("dup-b")
		aAgain := row("dup-a")
		aAgain.Email = "other@example.com"
		res := e.importRows(t, a, b, aAgain, a)
		wantRow(t, res, 0, client.RowStatusCreated, "", "")
		wantRow(t, res, 1, client.RowStatusCreated, "", "")
		wantRow(t, res, 2, client.RowStatusFailed, client.RowErrorCodeDuplicate, "partnerInvestorId")
		wantRow(t, res, 3, client.RowStatusFailed, client.RowErrorCodeDuplicate, "partnerInvestorId")
		if m := res.Results[2].Error.Message; !strings.Contains(m, "(row 1, counting from 1)") {
			t.Errorf("duplicate message %q does not point at row 1", m)
		}

		res = e.importRawRows(t,
			`{"partnerInvestorId":"dup-c","email":"c@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-02-30"}`,
			`{"partnerInvestorId":"dup-c","email":"c@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-02-28"}`)
		wantRow(t, res, 0, client.RowStatusFailed, client.RowErrorCodeFormat, "dateOfBirth")
		wantRow(t, res, 1, client.RowStatusFailed, client.RowErrorCodeDuplicate, "partnerInvestorId")
		if n := e.api.DB.Count(t, "people"); n != 2 {
			t.Errorf("%d people, want 2", n)
		}
	})
}

// An email (any case) that belongs to another partnerInvestorId fails with
// conflict, against the database and earlier in the batch; a known id with a
// new email is already_exists and changes nothing.
func TestEmailConflicts(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		first := e.importRows(t, row("c-1"))
		id1 := *first.Results[0].ZestPersonId

		taken := row("c-2")
		taken.Email = "C-1@EXAMPLE.COM"
		inBatchA, inBatchB := row("c-3"), row("c-4")
		inBatchB.Email = "C-3@example.com"
		known := row("c-1")
		known.Email = "brand-new@example.com"
		known.FirstName = "Changed"

		res := e.importRows(t, taken, inBatchA, inBatchB, known)
		wantRow(t, res, 0, client.RowStatusFailed, client.RowErrorCodeConflict, "email")
		wantRow(t, res, 1, client.RowStatusCreated, "", "")
		wantRow(t, res, 2, client.RowStatusFailed, client.RowErrorCodeConflict, "email")
		wantRow(t, res, 3, client.RowStatusAlreadyExists, "", "")
		if *res.Results[3].ZestPersonId != id1 {
			t.Errorf("known id answered %s, want %s", *res.Results[3].ZestPersonId, id1)
		}
		if got := e.get(t, id1); got.Email != "c-1@example.com" || got.FirstName != "First c-1" {
			t.Errorf("a replay updated the person: %+v", got)
		}
		// The email a known row carried was not claimed: another id may use
		// it, later in the same batch or in another one.
		knownAgain := row("c-1")
		knownAgain.Email = "claimed-by-nobody@example.com"
		later := row("c-6")
		later.Email = "claimed-by-nobody@example.com"
		res = e.importRows(t, knownAgain, later, func() client.InvestorInput { r := row("c-5"); r.Email = "brand-new@example.com"; return r }())
		wantRow(t, res, 0, client.RowStatusAlreadyExists, "", "")
		wantRow(t, res, 1, client.RowStatusCreated, "", "")
		wantRow(t, res, 2, client.RowStatusCreated, "", "")
		// A known id is already_exists even when an earlier row of the batch
		// claimed the email it carries.
		newFirst := row("c-7")
		newFirst.Email = "c7@example.com"
		knownLater := row("c-3")
		knownLater.Email = "C7@example.com"
		res = e.importRows(t, newFirst, knownLater)
		wantRow(t, res, 0, client.RowStatusCreated, "", "")
		wantRow(t, res, 1, client.RowStatusAlreadyExists, "", "")
	})
}

// Investors whose country is missing from the risk-rating list are created
// and flagged for the KYC stage.
func TestCountryNotRiskRated(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		aq := row("k-1")
		aq.CountryOfResidence = ptr("AQ")
		res := e.importRows(t, aq, row("k-2"))
		wantRow(t, res, 0, client.RowStatusCreated, "", "")
		if f := e.get(t, *res.Results[0].ZestPersonId).KycFlags; len(f) != 1 || f[0] != client.InvestorKycFlagsCountryNotRiskRated {
			t.Errorf("AQ flags %v", f)
		}
		if f := e.get(t, *res.Results[1].ZestPersonId).KycFlags; len(f) != 0 {
			t.Errorf("AE flags %v", f)
		}
	})
}

// A batch that interleaves new, existing, failed, duplicate and conflicting
// rows answers each row in place, and every zestPersonId names the person
// of its own row.
func TestMixedBatch(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		existing := rowsFor("old", 40)
		before := e.importRows(t, existing...)
		oldIDs := map[string]string{}
		for _, r := range before.Results {
			oldIDs[*r.PartnerInvestorId] = *r.ZestPersonId
		}

		type want struct {
			status client.RowStatus
			code   client.RowErrorCode
		}
		var rows []string
		var wants []want
		add := func(r string, w want) { rows = append(rows, r); wants = append(wants, w) }
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range 200 {
			switch rng.IntN(5) {
			case 0:
				add(rawJSON(t, row(fmt.Sprintf("new-%04d", i))), want{status: client.RowStatusCreated})
			case 1:
				add(rawJSON(t, existing[rng.IntN(len(existing))]), want{status: client.RowStatusAlreadyExists})
			case 2:
				add(fmt.Sprintf(`{"partnerInvestorId":"bad-%04d","email":"bad%d@example.com","firstName":"A","lastName":"B","dateOfBirth":"1985-13-01"}`, i, i), want{client.RowStatusFailed, client.RowErrorCodeFormat})
			case 3:
				r := row(fmt.Sprintf("clash-%04d", i))
				r.Email = existing[rng.IntN(len(existing))].Email
				add(rawJSON(t, r), want{client.RowStatusFailed, client.RowErrorCodeConflict})
			case 4:
				add(rawJSON(t, row(fmt.Sprintf("new-%04d", i))), want{status: client.RowStatusCreated})
				add(rawJSON(t, row(fmt.Sprintf("new-%04d", i))), want{client.RowStatusFailed, client.RowErrorCodeDuplicate})
			}
		}
		// An existing row repeated in the batch is a duplicate the second time.
		seen := map[string]bool{}
		for i, r := range rows {
			if wants[i].status == client.RowStatusAlreadyExists {
				if seen[r] {
					wants[i] = want{client.RowStatusFailed, client.RowErrorCodeDuplicate}
				}
				seen[r] = true
			}
		}

		res := e.importRawRows(t, rows...)
		for i, w := range wants {
			got := res.Results[i]
			if got.Status != w.status || (w.code != "" && (got.Error == nil || got.Error.Code != w.code)) {
				t.Fatalf("row %d (%s): got %s, want %+v", i, rows[i], rawJSON(t, got), w)
			}
			if got.ZestPersonId == nil {
				continue
			}
			pid := *got.PartnerInvestorId
			if w.status == client.RowStatusAlreadyExists && *got.ZestPersonId != oldIDs[pid] {
				t.Errorf("row %d: existing %s answered %s, want %s", i, pid, *got.ZestPersonId, oldIDs[pid])
			}
			if p := e.get(t, *got.ZestPersonId); p.PartnerInvestorId != pid {
				t.Errorf("row %d: %s names the person of %s, not %s", i, *got.ZestPersonId, p.PartnerInvestorId, pid)
			}
		}
		checkPairs(t, e.api.DB)
	})
}
