package impl

import (
	"context"

	"github.com/zestequity/zest-api/generated"
	"github.com/zestequity/zest-api/internal/httpx"
	"github.com/zestequity/zest-api/internal/subscriptions"
)

func (s *Server) ListSpvs(ctx context.Context, _ generated.ListSpvsRequestObject) (generated.ListSpvsResponseObject, error) {
	spvs, err := s.subs.SPVs(ctx, httpx.InfoFrom(ctx).ClientID)
	if err != nil {
		return nil, err
	}
	body := generated.SpvList{Data: make([]generated.Spv, len(spvs))}
	for i, v := range spvs {
		body.Data[i] = toSpv(v)
	}
	return generated.ListSpvs200JSONResponse{Body: body}, nil
}

func (s *Server) GetSpv(ctx context.Context, req generated.GetSpvRequestObject) (generated.GetSpvResponseObject, error) {
	v, err := s.subs.SPV(ctx, httpx.InfoFrom(ctx).ClientID, req.SpvSlug)
	if err != nil {
		return nil, err
	}
	return generated.GetSpv200JSONResponse{Body: toSpv(v)}, nil
}

func (s *Server) CreateSubscriptions(ctx context.Context, req generated.CreateSubscriptionsRequestObject) (generated.CreateSubscriptionsResponseObject, error) {
	info := httpx.InfoFrom(ctx)
	results, err := s.subs.Create(ctx, info.ClientID, req.SpvSlug, req.Body.Subscriptions)
	if err != nil {
		return nil, err
	}
	body := generated.CreateSubscriptionsResult{Results: make([]generated.SubscriptionRowResult, len(results))}
	info.Rows = map[string]int{}
	for i, r := range results {
		info.Rows[r.Outcome]++
		out := generated.SubscriptionRowResult{Outcome: generated.RowStatus(r.Outcome), PartnerSubscriptionId: r.PartnerSubscriptionID}
		if sub := r.Subscription; sub != nil {
			w := toSubscription(*sub)
			out.SubscriptionSlug, out.SpvSlug, out.PersonId = &w.SubscriptionSlug, &w.SpvSlug, &w.PersonId
			out.Status, out.LumpSum, out.ShareClassSlug = &w.Status, &w.LumpSum, &w.ShareClassSlug
			out.PartnerSubscriptionId = w.PartnerSubscriptionId
		}
		if e := r.Error; e != nil {
			out.Error = &generated.SubscriptionRowError{Code: generated.SubscriptionRowErrorCode(e.Code), Message: e.Message, Retryable: e.Retryable}
			if e.Field != "" {
				out.Error.Field = &e.Field
			}
		}
		body.Results[i] = out
	}
	body.Summary = generated.ImportSummary{
		Created:       info.Rows[subscriptions.Created],
		AlreadyExists: info.Rows[subscriptions.AlreadyExists],
		Failed:        info.Rows[subscriptions.Failed],
	}
	return generated.CreateSubscriptions201JSONResponse{Body: body}, nil
}

func (s *Server) ListSubscriptions(ctx context.Context, req generated.ListSubscriptionsRequestObject) (generated.ListSubscriptionsResponseObject, error) {
	limit := defaultPageSize
	if req.Params.Limit != nil {
		limit = *req.Params.Limit
	}
	page, err := s.subs.List(ctx, httpx.InfoFrom(ctx).ClientID, req.SpvSlug, (*string)(req.Params.Status), req.Params.Cursor, limit)
	if err != nil {
		return nil, err
	}
	body := generated.SubscriptionList{Data: make([]generated.Subscription, len(page.Subscriptions)), NextCursor: page.NextCursor, HasMore: page.NextCursor != nil}
	for i, sub := range page.Subscriptions {
		body.Data[i] = toSubscription(sub)
	}
	return generated.ListSubscriptions200JSONResponse{Body: body}, nil
}

func (s *Server) GetSubscription(ctx context.Context, req generated.GetSubscriptionRequestObject) (generated.GetSubscriptionResponseObject, error) {
	sub, err := s.subs.Get(ctx, httpx.InfoFrom(ctx).ClientID, req.SpvSlug, req.PersonId)
	if err != nil {
		return nil, err
	}
	body := toSubscription(sub)
	body.Documents = toDocuments(sub.Documents)
	return generated.GetSubscription200JSONResponse{Body: body}, nil
}

func toSpv(v subscriptions.SPV) generated.Spv {
	out := generated.Spv{
		SpvSlug: v.Slug, Name: v.Name, Currency: v.Currency, MinAmount: v.MinAmount,
		Status: generated.SpvStatus(v.Status), CreatedAt: v.CreatedAt.UTC(),
		ShareClasses: make([]generated.ShareClass, len(v.ShareClasses)),
	}
	for i, c := range v.ShareClasses {
		out.ShareClasses[i] = generated.ShareClass{ShareClassSlug: c.Slug, Name: c.Name}
	}
	return out
}

func toSubscription(s subscriptions.Subscription) generated.Subscription {
	return generated.Subscription{
		SubscriptionSlug: s.SubscriptionSlug, SpvSlug: s.SPVSlug, PersonId: s.PersonID,
		Status: generated.SubscriptionStatus(s.Status), LumpSum: generated.Money{Currency: s.Currency, Value: s.Amount},
		ShareClassSlug: s.ShareClassSlug, PartnerSubscriptionId: s.PartnerSubscriptionID,
		CreatedAt: s.CreatedAt.UTC(), CompletedAt: utc(s.CompletedAt),
	}
}

func (s *Server) UploadSubscriptionForm(ctx context.Context, req generated.UploadSubscriptionFormRequestObject) (generated.UploadSubscriptionFormResponseObject, error) {
	up, err := s.subs.UploadForm(ctx, httpx.InfoFrom(ctx).ClientID, req.SpvSlug, req.PersonId, req.Body)
	if err != nil {
		return nil, err
	}
	sub := up.Subscription
	return generated.UploadSubscriptionForm201JSONResponse{Body: generated.SubscriptionFormUploaded{
		SubscriptionSlug: sub.SubscriptionSlug, SpvSlug: sub.SPVSlug, PersonId: sub.PersonID,
		SubscriptionFormUrl: up.Document.URL, UploadedAt: up.Document.UploadedAt.UTC(),
	}}, nil
}

func (s *Server) UploadFundingReceipt(ctx context.Context, req generated.UploadFundingReceiptRequestObject) (generated.UploadFundingReceiptResponseObject, error) {
	up, err := s.subs.UploadFunding(ctx, httpx.InfoFrom(ctx).ClientID, req.SpvSlug, req.PersonId, req.Body)
	if err != nil {
		return nil, err
	}
	sub, doc := up.Subscription, up.Document
	return generated.UploadFundingReceipt201JSONResponse{Body: generated.FundingReceiptUploaded{
		SubscriptionSlug: sub.SubscriptionSlug, SpvSlug: sub.SPVSlug, PersonId: sub.PersonID,
		FundingReceiptUrl: doc.URL, Amount: *doc.Amount, Currency: *doc.Currency,
		WireReference: *doc.WireReference, UploadedAt: doc.UploadedAt.UTC(),
	}}, nil
}

func toDocuments(docs []subscriptions.Document) *[]generated.SubscriptionDocument {
	if docs == nil {
		return nil
	}
	out := make([]generated.SubscriptionDocument, len(docs))
	for i, d := range docs {
		out[i] = generated.SubscriptionDocument{
			Kind: d.Kind, Url: d.URL, MediaType: d.MediaType, Size: d.Size, Sha256: d.SHA256,
			Current: d.Current, Amount: d.Amount, Currency: d.Currency, WireReference: d.WireReference,
			UploadedAt: d.UploadedAt.UTC(),
		}
	}
	return &out
}
