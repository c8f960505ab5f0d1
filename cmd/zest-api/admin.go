package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/zestequity/zest-api/internal/config"
	"github.com/zestequity/zest-api/internal/netguard"
	"github.com/zestequity/zest-api/internal/store"
	"github.com/zestequity/zest-api/internal/tenants"
)

// openStore opens the configured database.
func openStore(ctx context.Context) (config.Config, store.DB, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return cfg, nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: 4, Timeouts: dbTimeouts(cfg)})
	return cfg, st, err
}

// withTenants runs fn on a migrated database, so that the operator commands
// work on a fresh one too.
func withTenants(ctx context.Context, fn func(*tenants.Service) error) error {
	cfg, st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	return fn(tenants.New(st, nil).WithJWKS(netguard.Policy{AllowPrivate: cfg.WebhookAllowPrivate}))
}

var migrateCommand = &command{
	name:    "migrate",
	summary: "apply the database migrations (idempotent, safe to run concurrently)",
	setup: func(*flag.FlagSet) runner {
		return func(ctx context.Context, _ []string, out streams) error {
			_, st, err := openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			applied, err := st.Migrate(ctx)
			if err != nil {
				return err
			}
			if len(applied) == 0 {
				fmt.Fprintln(out.stdout, "schema is up to date")
			}
			for _, m := range applied {
				fmt.Fprintf(out.stdout, "applied %04d_%s\n", m.Version, m.Name)
			}
			return nil
		}
	},
}

var tenantsCreateCommand = &command{
	name:    "tenants create",
	args:    "CLIENT_ID",
	nargs:   1,
	summary: "create a tenant and print its first token, alone on a line",
	about:   "The token is shown this once; `zest-api tokens create CLIENT_ID` makes another.",
	setup: func(fs *flag.FlagSet) runner {
		name := fs.String("name", "", "the tenant's display `name` (default: the client id)")
		unprovisioned := fs.Bool("unprovisioned", false, "create the tenant without API access, until it is provisioned")
		return func(ctx context.Context, pos []string, out streams) error {
			return withTenants(ctx, func(t *tenants.Service) error {
				token, err := t.Create(ctx, pos[0], *name, !*unprovisioned)
				if err != nil {
					return tenantErr(err, pos[0])
				}
				fmt.Fprintln(out.stdout, token)
				return nil
			})
		}
	},
}

var tenantsProvisionCommand = tenantStatusCommand("provision", "give the tenant API access", (*tenants.Service).Provision)

var tenantsSuspendCommand = tenantStatusCommand("suspend", "take the tenant's API access away; its tokens are answered 403", (*tenants.Service).Suspend)

func tenantStatusCommand(sub, summary string, set func(*tenants.Service, context.Context, string) error) *command {
	return &command{
		name:    "tenants " + sub,
		args:    "CLIENT_ID",
		nargs:   1,
		summary: summary,
		setup: func(*flag.FlagSet) runner {
			return func(ctx context.Context, pos []string, out streams) error {
				return withTenants(ctx, func(t *tenants.Service) error {
					if err := set(t, ctx, pos[0]); err != nil {
						return tenantErr(err, pos[0])
					}
					fmt.Fprintf(out.stdout, "tenant %s %sed\n", pos[0], sub)
					return nil
				})
			}
		},
	}
}

var tokensCreateCommand = &command{
	name:    "tokens create",
	args:    "CLIENT_ID",
	nargs:   1,
	summary: "create another token for the tenant and print it, alone on a line",
	about:   "The token is shown this once; only a hash of its secret is stored.",
	setup: func(*flag.FlagSet) runner {
		return func(ctx context.Context, pos []string, out streams) error {
			return withTenants(ctx, func(t *tenants.Service) error {
				token, err := t.CreateToken(ctx, pos[0])
				if err != nil {
					return tenantErr(err, pos[0])
				}
				fmt.Fprintln(out.stdout, token)
				return nil
			})
		}
	},
}

var tokensListCommand = &command{
	name:    "tokens list",
	args:    "CLIENT_ID",
	nargs:   1,
	summary: "list the tenant's tokens: ids, creation, last use and revocation times, never secrets",
	setup: func(*flag.FlagSet) runner {
		return func(ctx context.Context, pos []string, out streams) error {
			return withTenants(ctx, func(t *tenants.Service) error {
				toks, err := t.ListTokens(ctx, pos[0])
				if err != nil {
					return tenantErr(err, pos[0])
				}
				w := tabwriter.NewWriter(out.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tCREATED\tLAST USED\tREVOKED")
				for _, tk := range toks {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", tk.ID, stamp(&tk.CreatedAt), stamp(tk.LastUsedAt), stamp(tk.RevokedAt))
				}
				return w.Flush()
			})
		}
	},
}

var tokensRevokeCommand = &command{
	name:    "tokens revoke",
	args:    "TOKEN_ID",
	nargs:   1,
	summary: "revoke a token, by the id that `tokens list` shows",
	setup: func(*flag.FlagSet) runner {
		return func(ctx context.Context, pos []string, out streams) error {
			return withTenants(ctx, func(t *tenants.Service) error {
				if err := t.RevokeToken(ctx, pos[0]); err != nil {
					if errors.Is(err, tenants.ErrTokenNotFound) {
						return fmt.Errorf("no token %s", pos[0])
					}
					return err
				}
				fmt.Fprintf(out.stdout, "token %s revoked\n", pos[0])
				return nil
			})
		}
	},
}

func tenantErr(err error, clientID string) error {
	switch {
	case errors.Is(err, tenants.ErrTenantNotFound):
		return fmt.Errorf("no tenant %s", clientID)
	case errors.Is(err, tenants.ErrTenantExists):
		return fmt.Errorf("tenant %s already exists", clientID)
	}
	return err
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// errViolations reports that check found invariant violations it left.
var errViolations = errors.New("invariant violations remain")

// check reports every violation of the investor pair's and the outbox's
// invariants, and with --repair first completes the pairs the completer
// would (those older than ZEST_COMPLETE_AFTER). It fails while any
// violation remains, so that it can gate a deployment or a test.
var checkCommand = &command{
	name:    "check",
	summary: "report investors whose Person, User or event is missing (exit 1 if any); --repair mends what it can",
	about: "It counts every broken invariant: people without a user, users without a person, events without a\n" +
		"person, users without an investor.created event, deliveries without an event, and rows whose\n" +
		"tenant, SPV, share class, person, user, subscription or endpoint is missing. --repair first\n" +
		"completes the people whose user is missing (older than ZEST_COMPLETE_AFTER), as the completer does.",
	setup: func(fs *flag.FlagSet) runner {
		repair := fs.Bool("repair", false, "complete the pairs the completer would, then report what remains")
		return func(ctx context.Context, _ []string, out streams) error { return check(ctx, *repair, out.stdout) }
	},
}

func check(ctx context.Context, repair bool, stdout io.Writer) error {
	cfg, st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	inv, err := newInvestors(cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	if repair {
		n, err := inv.CompleteAll(ctx)
		fmt.Fprintf(stdout, "completed %d pairs (with their investor.created events)\n", n)
		if err != nil {
			return err
		}
	}
	r, err := inv.Check(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, line := range []struct {
		what string
		n    int64
	}{
		{"people without a user", r.PeopleWithoutUser},
		{"users without a person", r.UsersWithoutPerson},
		{"investor.created events without a person", r.EventsWithoutPerson},
		{"users without an investor.created event", r.PairsWithoutEvent},
		{"webhook deliveries without an event", r.DeliveriesWithoutEvent},
		{"people, users, events or subscriptions without a tenant", r.RowsWithoutTenant},
		{"subscriptions without their SPV, share class, person or user", r.SubscriptionsWithoutParent},
		{"subscription events without a subscription", r.EventsWithoutSubscription},
		{"webhook deliveries without an endpoint", r.DeliveriesWithoutEndpoint},
	} {
		fmt.Fprintf(w, "%s\t%d\n", line.what, line.n)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if n := r.Violations(); n > 0 {
		if repair && r.PeopleWithoutUser > 0 {
			fmt.Fprintf(stdout, "people without a user younger than ZEST_COMPLETE_AFTER (%s) may still be being written; the others could not be completed\n", cfg.CompleteAfter)
		}
		return fmt.Errorf("%w: %d", errViolations, n)
	}
	return nil
}
