// Package storetest is the conformance suite of the store's drivers: every
// driver runs it against its own database, so that the services can rely on
// the same behaviour from each.
package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/internal/sqlcount"
	"github.com/zestequity/zest-api/internal/store"
	"github.com/zestequity/zest-api/internal/store/gormstore"
	"github.com/zestequity/zest-api/internal/subscriptions"
	"github.com/zestequity/zest-api/models"
)

// Driver describes the driver under test.
type Driver struct {
	Schema gormstore.Schema
	// New returns a fresh, empty database for one test.
	New func(t *testing.T) Database
	// Budget is the most statements a 1000-row import of new investors may
	// cost (people, then their pairs), and a replay of it.
	Budget struct{ Write, Replay int64 }
}

// Database is one test's database.
type Database struct {
	// Open connects anew to the database; the suite migrates it.
	Open func(ctx context.Context) (Conn, error)
	// SQL is a plain connection for the test's own checks; Rebind turns its
	// ? placeholders into the driver's.
	SQL    *sql.DB
	Rebind func(query string) string
	// PrimaryKeySQL lists a table's primary key columns, as the database
	// reports them; its one parameter is the table.
	PrimaryKeySQL string
}

// Conn is an open database, and its GORM handle for the schema checks.
type Conn struct {
	store.DB
	Gorm *gorm.DB
}

var ctx = context.Background()

// Run runs the suite.
func Run(t *testing.T, d Driver) {
	t.Run("MigrateIsIdempotentAndConcurrent", func(t *testing.T) { t.Parallel(); migrateIsIdempotentAndConcurrent(t, d) })
	t.Run("SchemaMatchesModels", func(t *testing.T) { t.Parallel(); schemaMatchesModels(t, d) })
	t.Run("WritePeopleMapsByKey", func(t *testing.T) { t.Parallel(); writePeopleMapsByKey(t, d) })
	t.Run("BatchCostsAHandfulOfStatements", func(t *testing.T) { t.Parallel(); batchCostsAHandfulOfStatements(t, d) })
	t.Run("IncompletePairsAreHiddenAndFound", func(t *testing.T) { t.Parallel(); incompletePairsAreHiddenAndFound(t, d) })
	t.Run("PendingDeliveriesByEndpointState", func(t *testing.T) { t.Parallel(); pendingDeliveriesByEndpointState(t, d) })
	t.Run("DocumentsMoveTheStatusWithTheirEvent", func(t *testing.T) { t.Parallel(); documentsMoveTheStatusWithTheirEvent(t, d) })
	t.Run("KeysAndAccessTokens", func(t *testing.T) { t.Parallel(); keysAndAccessTokens(t, d) })
	t.Run("AssertionIsRecordedOnceAcrossProcesses", func(t *testing.T) { t.Parallel(); assertionIsRecordedOnce(t, d) })
	t.Run("JWKSKeysFollowTheSet", func(t *testing.T) { t.Parallel(); jwksKeysFollowTheSet(t, d) })
}

// Pending deliveries are counted by their endpoint's state at the time
// given: a breaker open until then is open, one whose time has passed is
// enabled again; settled deliveries are not counted.
func pendingDeliveriesByEndpointState(t *testing.T, d Driver) {
	c, _ := open(t, d)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Minute), now.Add(-time.Minute)
	g := c.Gorm.WithContext(ctx)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(g.Create(&models.Tenant{ClientID: "acme", Name: "acme", Status: "active", CreatedAt: now, UpdatedAt: now}).Error)
	must(g.Create(&models.Event{EventID: "evt_1", ClientID: "acme", Type: models.EventInvestorCreated, Payload: "{}", CreatedAt: now}).Error)
	var ev models.Event
	must(g.Where("event_id = ?", "evt_1").First(&ev).Error)
	endpoints := []struct {
		id, status         string
		openUntil, deleted *time.Time
		pending            int
	}{
		{"we_enabled", models.EndpointEnabled, nil, nil, 1},
		{"we_recovered", models.EndpointEnabled, &earlier, nil, 1},
		{"we_open", models.EndpointEnabled, &later, nil, 1},
		{"we_disabled", models.EndpointDisabled, nil, nil, 1},
		{"we_deleted", models.EndpointEnabled, nil, &now, 1},
		{"we_settled", models.EndpointEnabled, nil, nil, 0},
	}
	for _, e := range endpoints {
		must(g.Create(&models.WebhookEndpoint{ID: e.id, ClientID: "acme", URL: "https://example.com", Status: e.status, Secret: "s",
			CreatedAt: now, UpdatedAt: now, OpenUntil: e.openUntil, DeletedAt: e.deleted}).Error)
		status := models.DeliveryPending
		if e.pending == 0 {
			status = models.DeliverySucceeded
		}
		must(g.Create(&models.WebhookDelivery{EventSeq: ev.Seq, EndpointID: e.id, Status: status, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}).Error)
	}
	got, err := c.PendingDeliveries(ctx, now)
	must(err)
	if want := map[string]int64{"enabled": 2, "breaker_open": 1, "disabled": 1, "deleted": 1}; !maps.Equal(got, want) {
		t.Errorf("pending deliveries %v, want %v", got, want)
	}
}

// open connects to a fresh database and migrates it.
func open(t *testing.T, d Driver) (Conn, Database) {
	t.Helper()
	db := d.New(t)
	c, err := db.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return c, db
}

// Migrating is idempotent, and safe from several processes at once.
func migrateIsIdempotentAndConcurrent(t *testing.T, d Driver) {
	db := d.New(t)
	var wg sync.WaitGroup
	applied := make([]int, 4)
	for i := range applied {
		wg.Go(func() {
			c, err := db.Open(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			ms, err := c.Migrate(ctx)
			if err != nil {
				t.Error(err)
			}
			applied[i] = len(ms)
		})
	}
	wg.Wait()
	all, err := d.Schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range applied {
		total += n
	}
	if total != len(all) {
		t.Errorf("migrations applied %v times in all, want each once (%d)", applied, len(all))
	}
}

// The migrated schema and the GORM models agree: the same columns, the same
// nullability, and every index a model declares exists.
func schemaMatchesModels(t *testing.T, d Driver) {
	c, db := open(t, d)
	gdb := c.Gorm
	for _, m := range models.All() {
		s, err := schema.Parse(m, &sync.Map{}, gdb.NamingStrategy)
		if err != nil {
			t.Fatal(err)
		}
		cols, err := gdb.Migrator().ColumnTypes(m)
		if err != nil {
			t.Fatalf("%s: %v", s.Table, err)
		}
		pks := primaryKey(t, db, s.Table)
		inDB := map[string]gorm.ColumnType{}
		for _, c := range cols {
			inDB[c.Name()] = c
		}
		var modelCols []string
		for _, f := range s.Fields {
			if f.DBName == "" {
				continue
			}
			modelCols = append(modelCols, f.DBName)
			c, ok := inDB[f.DBName]
			if !ok {
				t.Errorf("%s.%s: in the model, not in the database", s.Table, f.DBName)
				continue
			}
			nullable, ok := c.Nullable()
			if ok && !f.PrimaryKey && nullable == f.NotNull {
				t.Errorf("%s.%s: nullable %v in the database, NOT NULL %v in the model", s.Table, f.DBName, nullable, f.NotNull)
			}
			if pk := slices.Contains(pks, f.DBName); pk != f.PrimaryKey {
				t.Errorf("%s.%s: primary key %v in the database, %v in the model", s.Table, f.DBName, pk, f.PrimaryKey)
			}
		}
		for name := range inDB {
			if !slices.Contains(modelCols, name) {
				t.Errorf("%s.%s: in the database, not in the model", s.Table, name)
			}
		}
		for _, idx := range s.ParseIndexes() {
			if !gdb.Migrator().HasIndex(m, idx.Name) {
				t.Errorf("%s: index %s of the model is not in the database", s.Table, idx.Name)
			}
		}
	}
}

// WritePeople reports exactly the rows it inserted, by key, when rows in
// the middle of the batch are skipped as conflicts, and the existing ones.
func writePeopleMapsByKey(t *testing.T, d Driver) {
	c, db := open(t, d)
	tenant(t, c, "acme")
	if _, err := c.WritePeople(ctx, "acme", []models.Person{person("k-05", "k05@x.io"), person("k-12", "k12@x.io")}, nil); err != nil {
		t.Fatal(err)
	}
	var batch []models.Person
	for i := range 20 {
		email := fmt.Sprintf("k%02d@x.io", i)
		if i == 8 {
			email = "K12@X.IO" // taken by k-12
		}
		batch = append(batch, person(fmt.Sprintf("k-%02d", i), email))
	}
	slices.Reverse(batch)
	var lookup []string
	for _, p := range batch {
		lookup = append(lookup, p.PartnerInvestorID)
	}
	got, err := c.WritePeople(ctx, "acme", batch, lookup)
	if err != nil {
		t.Fatal(err)
	}
	// k-08 lost its email to k-12: it is neither inserted nor existing.
	if len(got) != 19 {
		t.Fatalf("answered %d rows, want 19 (17 inserted, k-05 and k-12 existing)", len(got))
	}
	for _, in := range got {
		existing := in.PartnerInvestorID == "k-05" || in.PartnerInvestorID == "k-12"
		if in.Inserted == existing || in.PartnerInvestorID == "k-08" {
			t.Errorf("%s reported inserted=%v", in.PartnerInvestorID, in.Inserted)
		}
		var pid, zid string
		if err := db.SQL.QueryRow(db.Rebind("SELECT partner_investor_id, zest_person_id FROM people WHERE id = ?"), in.ID).Scan(&pid, &zid); err != nil {
			t.Fatal(err)
		}
		if pid != in.PartnerInvestorID || zid != in.ZestPersonID {
			t.Errorf("id %d reported for %s/%s belongs to %s/%s", in.ID, in.PartnerInvestorID, in.ZestPersonID, pid, zid)
		}
	}

	// The same when the batch's first person (in key order) exists, which
	// a driver may read the batch from before inserting the rest.
	again := []models.Person{person("k-21", "k03@x.io"), person("k-20", "k20@x.io"), person("k-00", "k00@x.io")}
	got, err = c.WritePeople(ctx, "acme", again, []string{"k-21", "k-20", "k-00"})
	if err != nil {
		t.Fatal(err)
	}
	inserted := map[string]bool{}
	for _, in := range got {
		inserted[in.PartnerInvestorID] = in.Inserted
	}
	// k-21 lost its email to k-03.
	if len(got) != 2 || !inserted["k-20"] || inserted["k-00"] {
		t.Errorf("first person known: %+v, want k-00 existing and k-20 inserted", got)
	}
}

// A 1000-row batch costs a handful of statements, whatever its size: one to
// write the people, one to complete the pairs and record their events (a
// statement per chunk of rows where the driver chunks); a replay reads the
// known people instead.
func batchCostsAHandfulOfStatements(t *testing.T, d Driver) {
	c, _ := open(t, d)
	tenant(t, c, "acme")
	people := make([]models.Person, 1000)
	lookup := make([]string, len(people))
	for i := range people {
		pid := fmt.Sprintf("s-%04d", i)
		people[i], lookup[i] = person(pid, pid+"@x.io"), pid
	}
	wctx, write := sqlcount.Start(ctx)
	rows, err := c.WritePeople(wctx, "acme", people, lookup)
	if err != nil || len(rows) != len(people) {
		t.Fatalf("%d rows: %v", len(rows), err)
	}
	if done, err := c.CompletePairs(wctx, completions(rows)); err != nil || len(done) != len(rows) {
		t.Fatalf("%d completed: %v", len(done), err)
	}
	rctx, replay := sqlcount.Start(ctx)
	if rows, err := c.WritePeople(rctx, "acme", people, lookup); err != nil || len(rows) != len(people) {
		t.Fatalf("replay: %d rows: %v", len(rows), err)
	}
	if write.Count() > d.Budget.Write || replay.Count() > d.Budget.Replay {
		t.Errorf("statements for 1000 new rows, 1000 replayed rows: %d, %d; want at most %d, %d",
			write.Count(), replay.Count(), d.Budget.Write, d.Budget.Replay)
	}
}

// A person without its User is invisible to the reads, found by
// IncompletePeople once old enough, and counted by Integrity, until its pair
// is completed.
func incompletePairsAreHiddenAndFound(t *testing.T, d Driver) {
	c, db := open(t, d)
	tenant(t, c, "acme")
	rows, err := c.WritePeople(ctx, "acme", []models.Person{person("h-1", "h1@x.io"), person("h-2", "h2@x.io")}, nil)
	if err != nil || len(rows) != 2 {
		t.Fatalf("%d rows: %v", len(rows), err)
	}
	slices.SortFunc(rows, func(a, b investors.PersonRow) int { return strings.Compare(a.PartnerInvestorID, b.PartnerInvestorID) })
	if _, err := c.CompletePairs(ctx, completions(rows[:1])); err != nil {
		t.Fatal(err)
	}
	done, pending := rows[0], rows[1]

	if _, err := c.PersonByZestID(ctx, "acme", pending.ZestPersonID); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("PersonByZestID of a person without a user: %v, want ErrNotFound", err)
	}
	if p, err := c.PersonByZestID(ctx, "acme", done.ZestPersonID); err != nil || p.ID != done.ID {
		t.Errorf("PersonByZestID of a paired person: %+v %v", p, err)
	}
	list, err := c.ListPeople(ctx, investors.PeopleQuery{ClientID: "acme", Limit: 10})
	if err != nil || len(list) != 1 || list[0].ID != done.ID {
		t.Errorf("ListPeople: %d people %v, want only %s", len(list), err, done.PartnerInvestorID)
	}
	list, err = c.ListPeople(ctx, investors.PeopleQuery{ClientID: "acme", PartnerInvestorID: &pending.PartnerInvestorID, Limit: 10})
	if err != nil || len(list) != 0 {
		t.Errorf("ListPeople by the partnerInvestorId of a person without a user: %d people %v", len(list), err)
	}

	var created time.Time
	if err := db.SQL.QueryRow(db.Rebind("SELECT created_at FROM people WHERE id = ?"), pending.ID).Scan(&created); err != nil {
		t.Fatal(err)
	}
	if got, err := c.IncompletePeople(ctx, created, 10); err != nil || len(got) != 0 {
		t.Errorf("IncompletePeople before the person was created: %d %v", len(got), err)
	}
	got, err := c.IncompletePeople(ctx, created.Add(time.Second), 10)
	if err != nil || len(got) != 1 || got[0].ID != pending.ID || got[0].ClientID != "acme" || got[0].ZestPersonID != pending.ZestPersonID {
		t.Fatalf("IncompletePeople: %+v %v, want %s", got, err, pending.PartnerInvestorID)
	}
	if r, err := c.Integrity(ctx); err != nil || r != (investors.Integrity{PeopleWithoutUser: 1}) {
		t.Errorf("Integrity: %+v %v, want one person without a user", r, err)
	}
	if _, err := c.CompletePairs(ctx, completions(rows[1:])); err != nil {
		t.Fatal(err)
	}
	if r, err := c.Integrity(ctx); err != nil || r.Violations() != 0 {
		t.Errorf("Integrity after completion: %+v %v", r, err)
	}
	if _, err := db.SQL.Exec(db.Rebind("DELETE FROM events WHERE person_id = ?"), pending.ID); err != nil {
		t.Fatal(err)
	}
	if r, err := c.Integrity(ctx); err != nil || r != (investors.Integrity{PairsWithoutEvent: 1}) {
		t.Errorf("Integrity with an event deleted: %+v %v, want one pair without event", r, err)
	}
}

func documentsMoveTheStatusWithTheirEvent(t *testing.T, d Driver) {
	c, db := open(t, d)
	tenant(t, c, "acme")
	rows, err := c.WritePeople(ctx, "acme", []models.Person{person("d-1", "d1@x.io")}, nil)
	if err != nil || len(rows) != 1 {
		t.Fatalf("%d rows: %v", len(rows), err)
	}
	if _, err := c.CompletePairs(ctx, completions(rows)); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateSPV(ctx, models.SPV{Slug: "fund", ClientID: "acme", Name: "Fund", Currency: "USD", Status: models.SPVOpen},
		[]models.ShareClass{{Slug: "a", Name: "A"}}); err != nil {
		t.Fatal(err)
	}
	spv, err := c.SPVBySlug(ctx, "fund")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := c.Investors(ctx, "acme", []string{rows[0].ZestPersonID})
	if err != nil || len(inv) != 1 {
		t.Fatalf("investors %+v %v", inv, err)
	}
	_, err = c.WriteSubscriptions(ctx, spv.ID, []subscriptions.NewSubscription{{
		Subscription: models.Subscription{SubscriptionSlug: "sub_d1", ClientID: "acme", PersonID: inv[0].PersonID, UserID: inv[0].UserID,
			ShareClassID: spv.ShareClasses[0].ID, Currency: "USD", Amount: "100"},
		Event: models.Event{EventID: "evt_sub_d1", ClientID: "acme", Type: models.EventSubscriptionCreated, Payload: "{}", CreatedAt: time.Now()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.SubscriptionByPerson(ctx, spv.ID, rows[0].ZestPersonID)
	if err != nil {
		t.Fatal(err)
	}
	amount, currency, wire := "100.50", "USD", "W-1"
	record := func(kind, key string, from []string, status string) bool {
		t.Helper()
		doc := models.SubscriptionDocument{SubscriptionID: sub.ID, Kind: kind, BlobKey: key, SHA256: "00", Size: 1,
			MediaType: "application/pdf", UploadedAt: time.Now()}
		if kind == models.DocumentFundingReceipt {
			doc.Amount, doc.Currency, doc.WireReference = &amount, &currency, &wire
		}
		typ := models.EventFormUploaded
		if kind == models.DocumentFundingReceipt {
			typ = models.EventFundingUploaded
		}
		ok, err := c.RecordDocument(ctx, doc, from, status,
			models.Event{EventID: "evt_" + key, ClientID: "acme", Type: typ, SubscriptionID: &sub.ID, Payload: "{}", CreatedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if record(models.DocumentFundingReceipt, "k0", []string{models.SubscriptionFormReceived}, models.SubscriptionFundingReceived) {
		t.Error("a funding recorded on a pending subscription")
	}
	for i, key := range []string{"k1", "k2"} {
		from := []string{models.SubscriptionPending, models.SubscriptionFormReceived}[i]
		if !record(models.DocumentSubscriptionForm, key, []string{from}, models.SubscriptionFormReceived) {
			t.Fatalf("form %s not recorded", key)
		}
	}
	if !record(models.DocumentFundingReceipt, "k3", []string{models.SubscriptionFormReceived}, models.SubscriptionFundingReceived) {
		t.Fatal("funding not recorded")
	}
	docs, err := c.Documents(ctx, sub.ID)
	if err != nil || len(docs) != 3 || docs[0].BlobKey != "k1" || docs[2].Amount == nil || !strings.HasPrefix(*docs[2].Amount, "100.5") {
		t.Fatalf("documents %+v %v", docs, err)
	}
	got, err := c.SubscriptionByPerson(ctx, spv.ID, rows[0].ZestPersonID)
	if err != nil || got.Status != models.SubscriptionFundingReceived {
		t.Errorf("status %q %v", got.Status, err)
	}
	var events int
	if err := db.SQL.QueryRow(db.Rebind(`SELECT count(*) FROM events WHERE subscription_id = ? AND type <> ?`), sub.ID, models.EventSubscriptionCreated).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != 3 {
		t.Errorf("%d upload events, want 3 (none for the refused funding)", events)
	}
	// The file sweep asks about a page of the bucket's listing at a time.
	page := []string{"k0", "k3", "nope"}
	for i := len(page); i < 999; i++ {
		page = append(page, fmt.Sprintf("other-%d", i))
	}
	page = append(page, "k1")
	referenced, err := c.ReferencedBlobKeys(ctx, page)
	slices.Sort(referenced)
	if err != nil || !slices.Equal(referenced, []string{"k1", "k3"}) {
		t.Errorf("ReferencedBlobKeys: %v %v, want k1 and k3", referenced, err)
	}
	if referenced, err := c.ReferencedBlobKeys(ctx, nil); err != nil || len(referenced) != 0 {
		t.Errorf("ReferencedBlobKeys of no key: %v %v", referenced, err)
	}
}

// primaryKey lists a table's primary key columns, as the database reports
// them (GORM's SQLite migrator sees only the first of a composite key).
func primaryKey(t *testing.T, db Database, table string) []string {
	t.Helper()
	rows, err := db.SQL.Query(db.Rebind(db.PrimaryKeySQL), table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	if len(cols) == 0 {
		t.Fatalf("table %s has no primary key", table)
	}
	return cols
}

func tenant(t *testing.T, st store.DB, clientID string) {
	t.Helper()
	if err := st.CreateTenant(ctx, models.Tenant{ClientID: clientID, Name: clientID, Status: models.TenantActive},
		models.APIToken{ID: "tok_" + clientID, ClientID: clientID, SecretHash: []byte{1}}); err != nil {
		t.Fatal(err)
	}
}

func person(pid, email string) models.Person {
	return models.Person{ZestPersonID: "psn_" + strings.ReplaceAll(pid, "-", ""), ClientID: "acme", PartnerInvestorID: pid,
		Email: email, EmailNormalized: strings.ToLower(email), FirstName: "F", LastName: "L",
		DateOfBirth: "1990-01-01", KYCManagedBy: models.KYCManagedByPartner, KYCFlags: models.StringList{}}
}

func completions(rows []investors.PersonRow) []investors.Completion {
	cs := make([]investors.Completion, len(rows))
	for i, r := range rows {
		id := r.ID
		cs[i] = investors.Completion{
			User: models.User{PersonID: r.ID, ClientID: "acme", Email: r.Email, EmailIsVerified: true,
				OTPMethod: models.OTPMethodEmail, Phone: "+99900000000000"},
			Event: models.Event{EventID: "evt_" + r.ZestPersonID, ClientID: "acme", Type: models.EventInvestorCreated,
				PersonID: &id, Payload: `{"type":"investor.created"}`, CreatedAt: time.Now()},
		}
	}
	return cs
}

// Keys are unique per tenant; revoking a key shows on the access tokens it
// minted, and revoking twice keeps the first time.
func keysAndAccessTokens(t *testing.T, d Driver) {
	c, _ := open(t, d)
	tenant(t, c, "acme")
	key := models.PartnerKey{ClientID: "acme", KID: "k1", KeyType: models.KeyTypeEd25519, PublicKey: "pem"}
	if err := c.CreateKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateKey(ctx, key); !errors.Is(err, models.ErrExists) {
		t.Errorf("same kid again: %v, want ErrExists", err)
	}
	if err := c.CreateKey(ctx, models.PartnerKey{ClientID: "nobody", KID: "k1", KeyType: models.KeyTypeEd25519, PublicKey: "pem"}); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("key of no tenant: %v, want ErrNotFound", err)
	}
	if _, _, err := c.KeyWithTenant(ctx, "acme", "k2"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("unknown kid: %v", err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	hash := []byte("0123456789abcdef0123456789abcdef")
	if err := c.CreateAccessToken(ctx, models.AccessToken{Hash: hash, ClientID: "acme", KID: "k1", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	tok, revoked, status, err := c.AccessTokenWithTenant(ctx, hash)
	if err != nil || revoked != nil || status != models.TenantActive || tok.KID != "k1" || !tok.ExpiresAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("access token: %+v %v %q %v", tok, revoked, status, err)
	}
	if err := c.RevokeKey(ctx, "acme", "k1"); err != nil {
		t.Fatal(err)
	}
	k, _, err := c.KeyWithTenant(ctx, "acme", "k1")
	if err != nil || k.RevokedAt == nil {
		t.Fatalf("revoked key: %+v %v", k, err)
	}
	if err := c.RevokeKey(ctx, "acme", "k1"); err != nil {
		t.Fatal(err)
	}
	again, _, _ := c.KeyWithTenant(ctx, "acme", "k1")
	if again.RevokedAt == nil || !again.RevokedAt.Equal(*k.RevokedAt) {
		t.Errorf("revoking twice moved the time: %v, then %v", k.RevokedAt, again.RevokedAt)
	}
	if _, revoked, _, err := c.AccessTokenWithTenant(ctx, hash); err != nil || revoked == nil {
		t.Errorf("token of a revoked key: revoked %v, %v", revoked, err)
	}
	if err := c.RevokeKey(ctx, "acme", "nope"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("revoking an unknown key: %v", err)
	}
}

// A tenant's keys from its JWKS follow the set: new kids are added, kids
// that left are revoked, a kid keeps its first key (registered or read, and
// revoked or not), and removing the JWKS revokes what was read from it.
func jwksKeysFollowTheSet(t *testing.T, d Driver) {
	c, _ := open(t, d)
	tenant(t, c, "acme")
	if err := c.SetJWKS(ctx, models.PartnerJWKS{ClientID: "nobody", URL: "https://x.example/jwks"}); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("JWKS of no tenant: %v, want ErrNotFound", err)
	}
	if _, err := c.JWKS(ctx, "acme"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("no JWKS yet: %v", err)
	}
	for _, url := range []string{"https://a.example/jwks", "https://b.example/jwks"} {
		if err := c.SetJWKS(ctx, models.PartnerJWKS{ClientID: "acme", URL: url}); err != nil {
			t.Fatal(err)
		}
	}
	if j, err := c.JWKS(ctx, "acme"); err != nil || j.URL != "https://b.example/jwks" {
		t.Errorf("JWKS: %+v %v, want the last URL set", j, err)
	}
	if err := c.CreateKey(ctx, models.PartnerKey{ClientID: "acme", KID: "file", KeyType: models.KeyTypeEd25519, PublicKey: "registered"}); err != nil {
		t.Fatal(err)
	}
	read := func(kids ...string) []models.PartnerKey {
		var out []models.PartnerKey
		for _, kid := range kids {
			out = append(out, models.PartnerKey{KID: kid, KeyType: models.KeyTypeEd25519, PublicKey: "read " + kid})
		}
		return out
	}
	state := func() map[string]string {
		keys, err := c.ListKeys(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, k := range keys {
			out[k.KID] = fmt.Sprintf("%s jwks=%v revoked=%v", k.PublicKey, k.FromJWKS, k.RevokedAt != nil)
		}
		return out
	}
	for _, step := range []struct {
		kids []string
		want map[string]string
	}{
		{[]string{"a", "b", "file"}, map[string]string{
			"a": "read a jwks=true revoked=false", "b": "read b jwks=true revoked=false", "file": "registered jwks=false revoked=false"}},
		{[]string{"b"}, map[string]string{
			"a": "read a jwks=true revoked=true", "b": "read b jwks=true revoked=false", "file": "registered jwks=false revoked=false"}},
		{[]string{"a", "b"}, map[string]string{
			"a": "read a jwks=true revoked=true", "b": "read b jwks=true revoked=false", "file": "registered jwks=false revoked=false"}},
		{nil, map[string]string{
			"a": "read a jwks=true revoked=true", "b": "read b jwks=true revoked=true", "file": "registered jwks=false revoked=false"}},
		{[]string{"c"}, map[string]string{
			"a": "read a jwks=true revoked=true", "b": "read b jwks=true revoked=true", "c": "read c jwks=true revoked=false", "file": "registered jwks=false revoked=false"}},
	} {
		if err := c.SyncJWKSKeys(ctx, "acme", read(step.kids...)); err != nil {
			t.Fatal(err)
		}
		if got := state(); !maps.Equal(got, step.want) {
			t.Errorf("after reading %v: %v, want %v", step.kids, got, step.want)
		}
	}
	if err := c.DeleteJWKS(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if got := state(); got["c"] != "read c jwks=true revoked=true" || got["file"] != "registered jwks=false revoked=false" {
		t.Errorf("after removing the JWKS: %v", got)
	}
	if err := c.DeleteJWKS(ctx, "acme"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("removing it again: %v, want ErrNotFound", err)
	}
}

// Of several processes recording the same jti at once, exactly one succeeds:
// the constraint decides, not a read before the write.
func assertionIsRecordedOnce(t *testing.T, d Driver) {
	first, db := open(t, d)
	tenant(t, first, "acme")
	conns := []Conn{first}
	for range 3 {
		c, err := db.Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted int
	)
	for _, c := range conns {
		wg.Go(func() {
			err := c.RecordAssertion(ctx, models.UsedAssertion{ClientID: "acme", JTI: "jti-1", ExpiresAt: time.Now().Add(time.Minute)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				accepted++
			case !errors.Is(err, models.ErrExists):
				t.Errorf("record: %v", err)
			}
		})
	}
	wg.Wait()
	if accepted != 1 {
		t.Errorf("the jti was accepted %d times, want once", accepted)
	}
}
