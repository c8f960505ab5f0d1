package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
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

var spvsCreateCommand = &command{
	name:    "spvs create",
	args:    "CLIENT_ID SPV_SLUG",
	nargs:   2,
	summary: "provision an SPV, with its share classes, for a tenant",
	about:   "Partners then subscribe their investors to it with POST /v1/spvs/SPV_SLUG/subscriptions.",
	setup: func(fs *flag.FlagSet) runner {
		name := fs.String("name", "", "the SPV's display `name`")
		currency := fs.String("currency", "", "the ISO 4217 `currency` of every subscription")
		var classes shareClasses
		fs.Var(&classes, "share-class", "a share class, `SLUG` or SLUG=NAME; repeat for more")
		var minAmount optionalString
		fs.Var(&minAmount, "min-amount", "the smallest lump sum accepted, a `decimal`")
		return func(ctx context.Context, pos []string, out streams) error {
			return withSubscriptions(ctx, func(s *subscriptions.Service) error {
				spv, err := s.CreateSPV(ctx, pos[0], pos[1], *name, *currency, classes, minAmount.v)
				if err != nil {
					return spvErr(err, pos[0], pos[1])
				}
				fmt.Fprintf(out.stdout, "SPV %s created for %s with %d share class(es)\n", spv.Slug, spv.ClientID, len(spv.ShareClasses))
				return nil
			})
		}
	},
}

var spvsListCommand = &command{
	name:    "spvs list",
	args:    "CLIENT_ID",
	nargs:   1,
	summary: "list a tenant's SPVs",
	setup: func(*flag.FlagSet) runner {
		return func(ctx context.Context, pos []string, out streams) error {
			return withSubscriptions(ctx, func(s *subscriptions.Service) error {
				spvs, err := s.SPVs(ctx, pos[0])
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(out.stdout, 0, 4, 2, ' ', 0)
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
		}
	},
}

var spvsCloseCommand = &command{
	name:    "spvs close",
	args:    "SPV_SLUG",
	nargs:   1,
	summary: "close an SPV: it takes no new subscriptions",
	setup: func(*flag.FlagSet) runner {
		return func(ctx context.Context, pos []string, out streams) error {
			return withSubscriptions(ctx, func(s *subscriptions.Service) error {
				if err := s.CloseSPV(ctx, pos[0]); err != nil {
					return spvErr(err, "", pos[0])
				}
				fmt.Fprintf(out.stdout, "SPV %s closed\n", pos[0])
				return nil
			})
		}
	},
}

var subscriptionsCompleteCommand = &command{
	name:    "subscriptions complete",
	args:    "SPV_SLUG PERSON_ID",
	nargs:   2,
	summary: "mark a subscription completed (its wire reconciled); emits subscription.completed",
	setup: func(*flag.FlagSet) runner {
		return func(ctx context.Context, pos []string, out streams) error {
			return withSubscriptions(ctx, func(s *subscriptions.Service) error {
				done, err := s.Complete(ctx, pos[0], pos[1])
				switch {
				case errors.Is(err, subscriptions.ErrNoSubscription):
					return fmt.Errorf("%s has no subscription to SPV %s", pos[1], pos[0])
				case err != nil:
					return spvErr(err, "", pos[0])
				case !done:
					fmt.Fprintf(out.stdout, "the subscription of %s to %s was completed already\n", pos[1], pos[0])
				default:
					fmt.Fprintf(out.stdout, "the subscription of %s to %s is completed\n", pos[1], pos[0])
				}
				return nil
			})
		}
	},
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
