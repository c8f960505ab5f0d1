// Command zest-api serves the Zest Partner API and administers its tenants.
//
//	zest-api [serve]                 serve the API (the default)
//	zest-api worker                  run the webhook dispatcher alone
//	zest-api migrate                 apply database migrations
//	zest-api tenants create CLIENT_ID [--name NAME] [--unprovisioned]
//	zest-api tenants provision CLIENT_ID
//	zest-api tenants suspend CLIENT_ID
//	zest-api tokens create CLIENT_ID
//	zest-api tokens list CLIENT_ID
//	zest-api tokens revoke TOKEN_ID
//	zest-api import --url URL --token TOKEN [--results PATH] [--batch-size N] [--format csv|jsonl] FILE
//
// Configuration comes from the environment; see README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage:
  zest-api [serve [--demo]]        serve the API (the default)
  zest-api worker                  run the webhook dispatcher alone
  zest-api migrate                 apply database migrations
  zest-api tenants create CLIENT_ID [--name NAME] [--unprovisioned]
  zest-api tenants provision CLIENT_ID
  zest-api tenants suspend CLIENT_ID
  zest-api tokens create CLIENT_ID
  zest-api tokens list CLIENT_ID
  zest-api tokens revoke TOKEN_ID
  zest-api spvs create CLIENT_ID SPV_SLUG --name NAME --currency ISO4217
                   --share-class SLUG[=NAME] [--share-class …] [--min-amount DECIMAL]
  zest-api spvs list CLIENT_ID
  zest-api spvs close SPV_SLUG
  zest-api subscriptions complete SPV_SLUG PERSON_ID
  zest-api import --url URL --token TOKEN [--results PATH] [--batch-size N] [--format csv|jsonl] FILE

Configuration (environment): DATABASE_URL, ZEST_ADDR, ZEST_MAX_BATCH_ROWS,
ZEST_MAX_BODY_BYTES, ZEST_LOG_LEVEL, ZEST_AUTO_MIGRATE, ZEST_IDEMPOTENCY_TTL,
ZEST_IDEMPOTENCY_LOCK_TIMEOUT, ZEST_DISPATCHER, ZEST_WEBHOOK_RETRY_SCHEDULE,
ZEST_WEBHOOK_TIMEOUT, ZEST_WEBHOOK_CONCURRENCY, ZEST_WEBHOOK_ALLOW_PRIVATE,
ZEST_PUBLIC_URL.
See README.md.
`

// errUsage reports a command line that cannot be run; usage is printed.
var errUsage = errors.New("invalid usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		fmt.Fprintf(os.Stderr, "zest-api: %v\n\n%s", err, usage)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "zest-api: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return serve(ctx, nil, stdout, stderr)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr)
	case "worker":
		return worker(ctx, rest, stderr)
	case "migrate":
		return migrate(ctx, rest, stdout)
	case "tenants":
		return tenantsCmd(ctx, rest, stdout)
	case "tokens":
		return tokensCmd(ctx, rest, stdout)
	case "spvs":
		return spvsCmd(ctx, rest, stdout)
	case "subscriptions":
		return subscriptionsCmd(ctx, rest, stdout)
	case "import":
		return importCmd(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
}

// parseArgs parses flags wherever they appear among the positional
// arguments, and checks the number of positional arguments.
func parseArgs(fs *flag.FlagSet, args []string, wantPositional int) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != wantPositional {
		return nil, fmt.Errorf("%w: %s takes %d argument(s), got %d", errUsage, fs.Name(), wantPositional, len(positional))
	}
	return positional, nil
}
