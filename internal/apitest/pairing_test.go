package apitest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/internal/testkit"
	"github.com/zestequity/zest-api/models"
)

// failingPairs fails CompletePairs while fail is set, after the people were
// written: the fault the reference's sequential writes must survive.
type failingPairs struct {
	investors.Store
	fail atomic.Pointer[error]
}

func (f *failingPairs) CompletePairs(ctx context.Context, cs []investors.Completion) ([]int64, error) {
	if err := f.fail.Load(); err != nil {
		return nil, *err
	}
	return f.Store.CompletePairs(ctx, cs)
}

func (f *failingPairs) failWith(err error) { f.fail.Store(&err) }
func (f *failingPairs) heal()              { f.fail.Store(nil) }

// When the User write fails transiently, its rows are not created: they fail
// retryable, and resubmitting completes the pair and reports created, with
// the id of the Person written the first time.
func TestUserWriteFailsTransiently(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		fp := &failingPairs{}
		e := newEnv(t, d, testkit.Options{WrapStore: func(s investors.Store) investors.Store { fp.Store = s; return fp }})
		done := e.importRows(t, row("p-0"))

		fp.failWith(apperr.Wrap(errors.New("connection reset"), apperr.Unavailable, "unavailable"))
		res := e.importRows(t, row("p-1"), row("p-0"), row("p-2"))
		wantRow(t, res, 0, client.RowStatusFailed, client.RowErrorCodeUnavailable, "")
		wantRow(t, res, 1, client.RowStatusAlreadyExists, "", "")
		wantRow(t, res, 2, client.RowStatusFailed, client.RowErrorCodeUnavailable, "")
		if *res.Results[1].ZestPersonId != *done.Results[0].ZestPersonId {
			t.Errorf("existing row answered another id")
		}
		orphans, _ := e.api.DB.Unpaired(t)
		if len(orphans) != 2 {
			t.Fatalf("want the 2 people of the failed rows without users, got %v", orphans)
		}

		fp.heal()
		res = e.importRows(t, row("p-2"), row("p-1"))
		wantRow(t, res, 0, client.RowStatusCreated, "", "")
		wantRow(t, res, 1, client.RowStatusCreated, "", "")
		got := []string{*res.Results[0].ZestPersonId, *res.Results[1].ZestPersonId}
		slices.Sort(got)
		if !slices.Equal(got, orphans) {
			t.Errorf("repaired rows answered %v, want the ids of the people written first %v", got, orphans)
		}
		checkPairs(t, e.api.DB)

		res = e.importRows(t, row("p-1"))
		wantRow(t, res, 0, client.RowStatusAlreadyExists, "", "")
	})
}

// An unexpected failure of the User write is a 500 that discloses nothing;
// the pair is completed by the next attempt.
func TestUserWriteFailsUnexpectedly(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		fp := &failingPairs{}
		e := newEnv(t, d, testkit.Options{WrapStore: func(s investors.Store) investors.Store { fp.Store = s; return fp }})
		fp.failWith(errors.New("secret internal detail"))
		resp := e.importRaw(t, referenceBatch)
		wantProblem(t, 500, resp.Body, resp.StatusCode(), "internal_error")
		if strings.Contains(string(resp.Body), "secret") {
			t.Errorf("internal error text leaked: %s", resp.Body)
		}
		if !strings.Contains(e.api.Logs.String(), "secret internal detail") {
			t.Errorf("the cause is not logged")
		}
		fp.heal()
		res := e.importRaw(t, referenceBatch).JSON200
		wantRow(t, *res, 0, client.RowStatusCreated, "", "")
		wantRow(t, *res, 1, client.RowStatusCreated, "", "")
		checkPairs(t, e.api.DB)
	})
}

// A process that died between the two writes left a Person without its User:
// the replay completes the pair and reports created, with that Person's id.
func TestCrashBetweenWritesIsRepaired(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		orphan := models.Person{ZestPersonID: "psn_crashedbeforeuserwrite01", ClientID: "acme", PartnerInvestorID: "acme-inv-7341",
			Email: "alice@example.com", EmailNormalized: "alice@example.com", FirstName: "Alice", LastName: "Liddell",
			DateOfBirth: "1985-04-12", KYCManagedBy: models.KYCManagedByPartner, KYCFlags: models.StringList{}}
		if _, err := e.api.Store.WritePeople(ctx, "acme", []models.Person{orphan}, nil); err != nil {
			t.Fatal(err)
		}
		res := e.importRaw(t, referenceBatch).JSON200
		wantRow(t, *res, 0, client.RowStatusCreated, "", "")
		wantRow(t, *res, 1, client.RowStatusCreated, "", "")
		if *res.Results[0].ZestPersonId != orphan.ZestPersonID {
			t.Errorf("repaired row answered %s, want %s", *res.Results[0].ZestPersonId, orphan.ZestPersonID)
		}
		checkPairs(t, e.api.DB)
		var phone, otp string
		var verified bool
		err := e.api.DB.SQL.QueryRow(e.api.DB.Rebind(`SELECT u.phone, u.otp_method, u.email_is_verified FROM users u JOIN people p ON p.id = u.person_id WHERE p.zest_person_id = ?`),
			orphan.ZestPersonID).Scan(&phone, &otp, &verified)
		if err != nil {
			t.Fatal(err)
		}
		if phone != investors.PlaceholderPhone(orphan.ZestPersonID) || otp != "email" || !verified {
			t.Errorf("user defaults: phone %s otp %s verified %v", phone, otp, verified)
		}
	})
}
