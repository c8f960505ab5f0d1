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
	// Authentication aside, an import is a probe and two statements, and a
	// replay a probe and one: the read of the known people.
	d.Budget.Write, d.Budget.Replay = 3, 2
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

// PostgreSQL enforces no foreign key on the rows every batch writes
// (migration 0009), so check must find a row whose parent is missing.
func TestIntegrityCountsRowsWithoutParent(t *testing.T) {
	ctx := context.Background()
	st, err := postgres.Open(ctx, testkit.PostgresURL(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO tenants (client_id, name, status, created_at, updated_at) VALUES ('acme', 'Acme', 'active', now(), now())`,
		// A pair and its event, of a tenant that does not exist.
		`INSERT INTO people (id, zest_person_id, client_id, partner_investor_id, email, email_normalized, first_name, last_name,
			date_of_birth, kyc_managed_by, kyc_flags, created_at)
			VALUES (1, 'psn_1', 'ghost', 'p-1', 'a@example.com', 'a@example.com', 'A', 'B', '1985-04-12', 'partner', '[]', now())`,
		`INSERT INTO users (id, person_id, client_id, email, email_is_verified, otp_method, phone, created_at)
			VALUES (1, 1, 'ghost', 'a@example.com', true, 'email', '+0', now())`,
		`INSERT INTO events (event_id, client_id, type, person_id, payload, created_at)
			VALUES ('evt_1', 'ghost', 'investor.created', 1, '{}', now())`,
		// A subscription of the tenant whose SPV, share class and User are
		// missing, with an event, and that event's delivery to no endpoint.
		`INSERT INTO subscriptions (id, subscription_slug, client_id, spv_id, person_id, user_id, share_class_id, currency, amount,
			status, created_at, updated_at) VALUES (1, 'sub_1', 'acme', 7, 1, 8, 9, 'USD', 100, 'pending', now(), now())`,
		`INSERT INTO events (seq, event_id, client_id, type, subscription_id, payload, created_at)
			VALUES (100, 'evt_2', 'acme', 'subscription.created', 1, '{}', now())`,
		`INSERT INTO webhook_deliveries (event_seq, endpoint_id, status, attempts, next_attempt_at, created_at, updated_at)
			VALUES (100, 'we_gone', 'pending', 0, now(), now(), now())`,
		// An event of a subscription that does not exist.
		`INSERT INTO events (event_id, client_id, type, subscription_id, payload, created_at)
			VALUES ('evt_3', 'acme', 'subscription.completed', 2, '{}', now())`,
	} {
		if err := st.DB.WithContext(ctx).Exec(q).Error; err != nil {
			t.Fatalf("%v: %s", err, q)
		}
	}
	r, err := st.Integrity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.RowsWithoutTenant != 3 || r.SubscriptionsWithoutParent != 1 || r.EventsWithoutSubscription != 1 || r.DeliveriesWithoutEndpoint != 1 {
		t.Errorf("integrity: %+v; want 3 rows without a tenant and 1 of each other", r)
	}
	if r.PeopleWithoutUser != 0 || r.UsersWithoutPerson != 0 || r.EventsWithoutPerson != 0 || r.PairsWithoutEvent != 0 || r.DeliveriesWithoutEvent != 0 {
		t.Errorf("integrity: %+v; the pair is whole", r)
	}
}
