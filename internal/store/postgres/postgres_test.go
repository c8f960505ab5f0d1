package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/zestequity/zest-api/internal/store/postgres"
	"github.com/zestequity/zest-api/internal/store/storetest"
	"github.com/zestequity/zest-api/internal/testkit"
)

func TestConformance(t *testing.T) {
	d := storetest.Driver{Schema: postgres.Schema, New: newDatabase}
	// Authentication aside, an import is two statements and a replay two.
	d.Budget.Write, d.Budget.Replay = 2, 2
	storetest.Run(t, d)
}

// newDatabase is a schema of the test server of the test's own.
func newDatabase(t *testing.T) storetest.Database {
	url := testkit.PostgresURL(t)
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return storetest.Database{
		Open: func(ctx context.Context) (storetest.Conn, error) {
			st, err := postgres.Open(ctx, url, postgres.Options{})
			if err != nil {
				return storetest.Conn{}, err
			}
			return storetest.Conn{DB: st, Gorm: st.DB}, nil
		},
		SQL:    raw,
		Rebind: testkit.RebindPostgres,
		PrimaryKeySQL: `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indrelid = ?::regclass AND i.indisprimary`,
	}
}
