// Command check calls a live zest-api server through a client that ogen
// generated from openapi.yaml into ./api (check.sh does the generating, in a
// temporary copy of this module, so that nothing generated is committed).
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"zest-api/clients/ogen/api"
)

type token string

func (t token) BearerAuth(context.Context, api.OperationName) (api.BearerAuth, error) {
	return api.BearerAuth{Token: string(t)}, nil
}

func main() {
	if err := run(os.Getenv("ZEST_URL"), token(os.Getenv("ZEST_TOKEN"))); err != nil {
		fmt.Fprintln(os.Stderr, "ogen check:", err)
		os.Exit(1)
	}
}

func run(url string, tok token) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := api.NewClient(url, tok)
	if err != nil {
		return err
	}
	res, err := c.ListInvestors(ctx, api.ListInvestorsParams{Limit: api.NewOptInt(10)})
	if err != nil {
		return err
	}
	page, ok := res.(*api.InvestorListHeaders)
	if !ok {
		return fmt.Errorf("GET /v1/investors answered %T, want the 200 page", res)
	}
	fmt.Printf("GET /v1/investors: 200, %d investors, Request-Id %s\n", len(page.Response.Data), page.RequestID)
	return nil
}
