package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "github.com/glebarez/go-sqlite"

	"github.com/zestequity/zest-api/internal/store/sqlite"
	"github.com/zestequity/zest-api/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	d := storetest.Driver{Schema: sqlite.Schema, New: newDatabase}
	// A statement per chunk of 500 rows: two to insert the people; two each
	// for the users, the events and the deliveries; two to read them back.
	d.Budget.Write, d.Budget.Replay = 8, 4
	storetest.Run(t, d)
}

// newDatabase is a file in the test's directory.
func newDatabase(t *testing.T) storetest.Database {
	path := filepath.Join(t.TempDir(), "zest.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return storetest.Database{
		Open: func(context.Context) (storetest.Conn, error) {
			st, err := sqlite.Open(path, sqlite.Options{})
			if err != nil {
				return storetest.Conn{}, err
			}
			return storetest.Conn{DB: st, Gorm: st.DB}, nil
		},
		SQL:           raw,
		Rebind:        func(q string) string { return q },
		PrimaryKeySQL: `SELECT name FROM pragma_table_info(?) WHERE pk > 0`,
	}
}
