package store_test

import (
	"testing"

	"github.com/zestequity/zest-api/internal/store/postgres"
	"github.com/zestequity/zest-api/internal/store/sqlite"
)

// Both drivers have the same migrations.
func TestMigrationsMatchAcrossDrivers(t *testing.T) {
	pg, err := postgres.Schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	lite, err := sqlite.Schema.Migrations()
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
