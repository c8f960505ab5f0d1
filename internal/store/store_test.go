package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/zestequity/zest-api/internal/store"
	"github.com/zestequity/zest-api/internal/testkit"
	"github.com/zestequity/zest-api/models"
)

var ctx = context.Background()

// Migrating is idempotent, and safe from several processes at once.
func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d store.Dialect) {
		t.Parallel()
		url := testkit.URL(t, d)
		var wg sync.WaitGroup
		applied := make([]int, 4)
		for i := range applied {
			wg.Go(func() {
				st, err := store.Open(ctx, url, store.Options{})
				if err != nil {
					t.Error(err)
					return
				}
				defer st.Close()
				ms, err := st.Migrate(ctx)
				if err != nil {
					t.Error(err)
				}
				applied[i] = len(ms)
			})
		}
		wg.Wait()
		all, err := store.Migrations(d)
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
	})
}

// Both dialects have the same migrations.
func TestMigrationsMatchAcrossDialects(t *testing.T) {
	pg, err := store.Migrations(store.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	lite, err := store.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) != len(lite) {
		t.Fatalf("%d PostgreSQL migrations, %d SQLite", len(pg), len(lite))
	}
	for i := range pg {
		if pg[i].Name != lite[i].Name {
			t.Errorf("migration %d: %s on PostgreSQL, %s on SQLite", i+1, pg[i].Name, lite[i].Name)
		}
	}
}

// The migrated schema and the GORM models agree: the same columns, the same
// nullability, and every index a model declares exists.
func TestSchemaMatchesModels(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d store.Dialect) {
		t.Parallel()
		db := testkit.NewDB(t, d, store.Options{})
		gdb := db.Store.GormDB()
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
	})
}

// WritePeople reports exactly the rows it inserted, by key, when rows in
// the middle of the batch are skipped as conflicts, and the existing ones.
func TestWritePeopleMapsByKey(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d store.Dialect) {
		t.Parallel()
		db := testkit.NewDB(t, d, store.Options{})
		tenant(t, db.Store, "acme")
		person := func(pid, email string) models.Person {
			return models.Person{ZestPersonID: "psn_" + strings.ReplaceAll(pid, "-", ""), ClientID: "acme", PartnerInvestorID: pid,
				Email: email, EmailNormalized: strings.ToLower(email), FirstName: "F", LastName: "L",
				DateOfBirth: "1990-01-01", KYCManagedBy: models.KYCManagedByPartner, KYCFlags: models.StringList{}}
		}
		if _, err := db.Store.WritePeople(ctx, "acme", []models.Person{person("k-05", "k05@x.io"), person("k-12", "k12@x.io")}, nil); err != nil {
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
		got, err := db.Store.WritePeople(ctx, "acme", batch, lookup)
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
	})
}

// primaryKey lists a table's primary key columns, as the database reports
// them (GORM's SQLite migrator sees only the first of a composite key).
func primaryKey(t *testing.T, db *testkit.DB, table string) []string {
	t.Helper()
	q := `SELECT name FROM pragma_table_info(?) WHERE pk > 0`
	if db.Dialect == store.Postgres {
		q = `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indrelid = ?::regclass AND i.indisprimary`
	}
	rows, err := db.SQL.Query(db.Rebind(q), table)
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

func tenant(t *testing.T, st *store.Store, clientID string) {
	t.Helper()
	if err := st.CreateTenant(ctx, models.Tenant{ClientID: clientID, Name: clientID, Status: models.TenantActive},
		models.APIToken{ID: "tok_" + clientID, ClientID: clientID, SecretHash: []byte{1}}); err != nil {
		t.Fatal(err)
	}
}
