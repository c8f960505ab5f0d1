package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/zestequity/zest-api/internal/subscriptions"
)

// withSubscriptions runs fn on a migrated database.
func withSubscriptions(ctx context.Context, fn func(*subscriptions.Service) error) error {
	_, st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	return fn(subscriptions.New(st, nil, nil))
}

// shareClasses collects repeated --share-class SLUG[=NAME] flags.
type shareClasses []subscriptions.ShareClassSpec

func (c *shareClasses) String() string { return "" }

func (c *shareClasses) Set(v string) error {
	slug, name, _ := strings.Cut(v, "=")
	*c = append(*c, subscriptions.ShareClassSpec{Slug: slug, Name: name})
	return nil
}

// optionalString is a flag whose absence differs from an empty value.
type optionalString struct{ v *string }

func (o *optionalString) String() string { return "" }

func (o *optionalString) Set(v string) error { o.v = &v; return nil }

func spvsCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: spvs needs a subcommand: create, list or close", errUsage)
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "create":
		fs := flag.NewFlagSet("spvs create", flag.ContinueOnError)
		name := fs.String("name", "", "display name")
		currency := fs.String("currency", "", "ISO 4217 currency of every subscription")
		var classes shareClasses
		fs.Var(&classes, "share-class", "a share class, SLUG or SLUG=NAME; repeat for more")
		var minAmount optionalString
		fs.Var(&minAmount, "min-amount", "the smallest lump sum accepted")
		pos, err := parseArgs(fs, rest, 2)
		if err != nil {
			return err
		}
		return withSubscriptions(ctx, func(s *subscriptions.Service) error {
			spv, err := s.CreateSPV(ctx, pos[0], pos[1], *name, *currency, classes, minAmount.v)
			if err != nil {
				return spvErr(err, pos[0], pos[1])
			}
			fmt.Fprintf(stdout, "SPV %s created for %s with %d share class(es)\n", spv.Slug, spv.ClientID, len(spv.ShareClasses))
			return nil
		})
	case "list":
		pos, err := parseArgs(flag.NewFlagSet("spvs list", flag.ContinueOnError), rest, 1)
		if err != nil {
			return err
		}
		return withSubscriptions(ctx, func(s *subscriptions.Service) error {
			spvs, err := s.SPVs(ctx, pos[0])
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "SLUG\tNAME\tCURRENCY\tMIN\tSTATUS\tSHARE CLASSES")
			for _, v := range spvs {
				min := "-"
				if v.MinAmount != nil {
					min = *v.MinAmount
				}
				var cs []string
				for _, c := range v.ShareClasses {
					cs = append(cs, c.Slug)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", v.Slug, v.Name, v.Currency, min, v.Status, strings.Join(cs, ","))
			}
			return w.Flush()
		})
	case "close":
		pos, err := parseArgs(flag.NewFlagSet("spvs close", flag.ContinueOnError), rest, 1)
		if err != nil {
			return err
		}
		return withSubscriptions(ctx, func(s *subscriptions.Service) error {
			if err := s.CloseSPV(ctx, pos[0]); err != nil {
				return spvErr(err, "", pos[0])
			}
			fmt.Fprintf(stdout, "SPV %s closed\n", pos[0])
			return nil
		})
	default:
		return fmt.Errorf("%w: unknown spvs subcommand %q", errUsage, sub)
	}
}

func subscriptionsCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "complete" {
		return fmt.Errorf("%w: subscriptions needs a subcommand: complete", errUsage)
	}
	pos, err := parseArgs(flag.NewFlagSet("subscriptions complete", flag.ContinueOnError), args[1:], 2)
	if err != nil {
		return err
	}
	return withSubscriptions(ctx, func(s *subscriptions.Service) error {
		done, err := s.Complete(ctx, pos[0], pos[1])
		switch {
		case errors.Is(err, subscriptions.ErrNoSubscription):
			return fmt.Errorf("%s has no subscription to SPV %s", pos[1], pos[0])
		case err != nil:
			return spvErr(err, "", pos[0])
		case !done:
			fmt.Fprintf(stdout, "the subscription of %s to %s was completed already\n", pos[1], pos[0])
		default:
			fmt.Fprintf(stdout, "the subscription of %s to %s is completed\n", pos[1], pos[0])
		}
		return nil
	})
}

func spvErr(err error, clientID, slug string) error {
	switch {
	case errors.Is(err, subscriptions.ErrSPVExists):
		return fmt.Errorf("SPV %s already exists", slug)
	case errors.Is(err, subscriptions.ErrSPVNotFound):
		return fmt.Errorf("no SPV %s", slug)
	case errors.Is(err, subscriptions.ErrNoTenant):
		return fmt.Errorf("no tenant %s", clientID)
	}
	return err
}
