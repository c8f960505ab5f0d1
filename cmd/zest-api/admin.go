package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/zestequity/zest-api/internal/config"
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
	_, st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	return fn(tenants.New(st, nil))
}

func migrate(ctx context.Context, args []string, stdout io.Writer) error {
	if _, err := parseArgs(flag.NewFlagSet("migrate", flag.ContinueOnError), args, 0); err != nil {
		return err
	}
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
		fmt.Fprintln(stdout, "schema is up to date")
	}
	for _, m := range applied {
		fmt.Fprintf(stdout, "applied %04d_%s\n", m.Version, m.Name)
	}
	return nil
}

func tenantsCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: tenants needs a subcommand: create, provision or suspend", errUsage)
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "create":
		fs := flag.NewFlagSet("tenants create", flag.ContinueOnError)
		name := fs.String("name", "", "display name (default: the client id)")
		unprovisioned := fs.Bool("unprovisioned", false, "create the tenant without API access")
		pos, err := parseArgs(fs, rest, 1)
		if err != nil {
			return err
		}
		return withTenants(ctx, func(t *tenants.Service) error {
			token, err := t.Create(ctx, pos[0], *name, !*unprovisioned)
			if err != nil {
				return tenantErr(err, pos[0])
			}
			fmt.Fprintln(stdout, token)
			return nil
		})
	case "provision", "suspend":
		pos, err := parseArgs(flag.NewFlagSet("tenants "+sub, flag.ContinueOnError), rest, 1)
		if err != nil {
			return err
		}
		return withTenants(ctx, func(t *tenants.Service) error {
			set := t.Provision
			if sub == "suspend" {
				set = t.Suspend
			}
			if err := set(ctx, pos[0]); err != nil {
				return tenantErr(err, pos[0])
			}
			fmt.Fprintf(stdout, "tenant %s %sed\n", pos[0], sub)
			return nil
		})
	default:
		return fmt.Errorf("%w: unknown tenants subcommand %q", errUsage, sub)
	}
}

func tokensCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: tokens needs a subcommand: create, list or revoke", errUsage)
	}
	sub, rest := args[0], args[1:]
	pos, err := parseArgs(flag.NewFlagSet("tokens "+sub, flag.ContinueOnError), rest, 1)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		return withTenants(ctx, func(t *tenants.Service) error {
			token, err := t.CreateToken(ctx, pos[0])
			if err != nil {
				return tenantErr(err, pos[0])
			}
			fmt.Fprintln(stdout, token)
			return nil
		})
	case "list":
		return withTenants(ctx, func(t *tenants.Service) error {
			toks, err := t.ListTokens(ctx, pos[0])
			if err != nil {
				return tenantErr(err, pos[0])
			}
			w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tCREATED\tLAST USED\tREVOKED")
			for _, tk := range toks {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", tk.ID, stamp(&tk.CreatedAt), stamp(tk.LastUsedAt), stamp(tk.RevokedAt))
			}
			return w.Flush()
		})
	case "revoke":
		return withTenants(ctx, func(t *tenants.Service) error {
			if err := t.RevokeToken(ctx, pos[0]); err != nil {
				if errors.Is(err, tenants.ErrTokenNotFound) {
					return fmt.Errorf("no token %s", pos[0])
				}
				return err
			}
			fmt.Fprintf(stdout, "token %s revoked\n", pos[0])
			return nil
		})
	default:
		return fmt.Errorf("%w: unknown tokens subcommand %q", errUsage, sub)
	}
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
