// Package impl implements the generated strict server interface. Handlers
// translate between wire types and the services and stay thin: the rules
// live in the services, the error-to-status mapping in httpapi.
package impl

import (
	"context"
	"fmt"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/zestequity/zest-api/generated"
	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/httpx"
	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/internal/rows"
	"github.com/zestequity/zest-api/internal/spec"
	"github.com/zestequity/zest-api/internal/subscriptions"
	"github.com/zestequity/zest-api/internal/tenants"
	"github.com/zestequity/zest-api/internal/webhooks"
	"github.com/zestequity/zest-api/models"
)

// Server implements generated.StrictServerInterface.
type Server struct {
	investors *investors.Service
	subs      *subscriptions.Service
	webhooks  *webhooks.Service
	ready     func(context.Context) error
	spec      *spec.Published
	tenants   *tenants.Service
	// tokenAudience is the aud that assertions must name; empty, it is the
	// token endpoint at the address the client reached.
	tokenAudience string
}

var _ generated.StrictServerInterface = (*Server)(nil)

// defaultPageSize matches the default of the limit parameter in openapi.yaml.
const defaultPageSize = 50

// New returns a Server. ready reports whether the database is reachable;
// spec is the contract it publishes; tokenAudience, when set, is the aud
// that token assertions must name.
func New(inv *investors.Service, subs *subscriptions.Service, hooks *webhooks.Service, tens *tenants.Service,
	ready func(context.Context) error, spec *spec.Published, tokenAudience string) *Server {
	return &Server{investors: inv, subs: subs, webhooks: hooks, tenants: tens, ready: ready, spec: spec, tokenAudience: tokenAudience}
}

func (s *Server) GetHealth(ctx context.Context, _ generated.GetHealthRequestObject) (generated.GetHealthResponseObject, error) {
	return generated.GetHealth200JSONResponse{
		Body: generated.Health{Status: generated.HealthStatusOk},
	}, nil
}

// readyTimeout bounds the readiness check's wait for the database.
const readyTimeout = time.Second

func (s *Server) GetReadiness(ctx context.Context, _ generated.GetReadinessRequestObject) (generated.GetReadinessResponseObject, error) {
	// A load balancer must hear "not ready" promptly, not once a hung
	// database answers.
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		return nil, apperr.Wrap(err, apperr.Unavailable, "The database is unreachable.")
	}
	return generated.GetReadiness200JSONResponse{
		Body: generated.Health{Status: generated.HealthStatusOk},
	}, nil
}

func (s *Server) ImportInvestors(ctx context.Context, req generated.ImportInvestorsRequestObject) (generated.ImportInvestorsResponseObject, error) {
	info := httpx.InfoFrom(ctx)
	for i, field := range info.NotUTF8Rows {
		row, ok := req.Body.Investors[i].(map[string]any)
		if field == "" || !ok {
			req.Body.Investors[i] = rows.NotUTF8{}
		} else {
			row[field] = rows.NotUTF8{}
		}
	}
	results, err := s.investors.Import(ctx, info.ClientID, req.Body.Investors)
	if err != nil {
		return nil, err
	}
	body := generated.ImportInvestorsResult{Results: make([]generated.RowResult, len(results))}
	info.Rows = map[string]int{}
	for i, r := range results {
		info.Rows[string(r.Status)]++
		out := generated.RowResult{PartnerInvestorId: r.PartnerInvestorID, Status: generated.RowStatus(r.Status)}
		if r.ZestPersonID != "" {
			out.ZestPersonId = &r.ZestPersonID
		}
		if e := r.Error; e != nil {
			out.Error = &generated.RowError{Code: generated.RowErrorCode(e.Code), Message: e.Message, Retryable: e.Retryable}
			info.Retryable = info.Retryable || e.Retryable
			if e.Field != "" {
				out.Error.Field = &e.Field
			}
		}
		body.Results[i] = out
	}
	body.Summary = generated.ImportSummary{
		Created:       info.Rows[string(investors.Created)],
		AlreadyExists: info.Rows[string(investors.AlreadyExists)],
		Failed:        info.Rows[string(investors.Failed)],
	}
	return generated.ImportInvestors200JSONResponse{
		Body: body,
	}, nil
}

func (s *Server) GetInvestor(ctx context.Context, req generated.GetInvestorRequestObject) (generated.GetInvestorResponseObject, error) {
	info := httpx.InfoFrom(ctx)
	p, err := s.investors.Get(ctx, info.ClientID, req.ZestPersonId)
	if err != nil {
		return nil, err
	}
	inv, err := toInvestor(p)
	if err != nil {
		return nil, err
	}
	return generated.GetInvestor200JSONResponse{
		Body: inv,
	}, nil
}

func (s *Server) ListInvestors(ctx context.Context, req generated.ListInvestorsRequestObject) (generated.ListInvestorsResponseObject, error) {
	info := httpx.InfoFrom(ctx)
	limit := defaultPageSize
	if req.Params.Limit != nil {
		limit = *req.Params.Limit
	}
	page, err := s.investors.List(ctx, info.ClientID, investors.ListQuery{
		PartnerInvestorID: req.Params.PartnerInvestorId,
		Cursor:            req.Params.Cursor,
		Limit:             limit,
	})
	if err != nil {
		return nil, err
	}
	body := generated.InvestorList{Data: make([]generated.Investor, len(page.Investors)), NextCursor: page.NextCursor}
	for i, p := range page.Investors {
		if body.Data[i], err = toInvestor(p); err != nil {
			return nil, err
		}
	}
	body.HasMore = page.NextCursor != nil
	return generated.ListInvestors200JSONResponse{
		Body: body,
	}, nil
}

func toInvestor(p models.Person) (generated.Investor, error) {
	flags := make([]generated.InvestorKycFlags, len(p.KYCFlags))
	for i, f := range p.KYCFlags {
		flags[i] = generated.InvestorKycFlags(f)
	}
	// The parse error would quote the stored value, which is PII.
	dob, err := time.Parse(time.DateOnly, string(p.DateOfBirth))
	if err != nil {
		return generated.Investor{}, fmt.Errorf("person %d has an unreadable date of birth", p.ID)
	}
	return generated.Investor{
		ZestPersonId:       p.ZestPersonID,
		PartnerInvestorId:  p.PartnerInvestorID,
		Email:              openapi_types.Email(p.Email),
		FirstName:          p.FirstName,
		LastName:           p.LastName,
		DateOfBirth:        openapi_types.Date{Time: dob},
		CountryOfResidence: p.CountryOfResidence,
		KycManagedBy:       generated.InvestorKycManagedBy(p.KYCManagedBy),
		KycFlags:           flags,
		CreatedAt:          p.CreatedAt.UTC(),
	}, nil
}
