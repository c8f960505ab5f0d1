package impl

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/zestequity/zest-api/generated"
	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/httpx"
	"github.com/zestequity/zest-api/models"
)

func (s *Server) CreateWebhookEndpoint(ctx context.Context, req generated.CreateWebhookEndpointRequestObject) (generated.CreateWebhookEndpointResponseObject, error) {
	info := httpx.InfoFrom(ctx)
	e, err := s.webhooks.CreateEndpoint(ctx, info.ClientID, req.Body.Url, req.Body.Description)
	if err != nil {
		return nil, err
	}
	return generated.CreateWebhookEndpoint201JSONResponse{
		Body: withSecret(e),
	}, nil
}

func (s *Server) ListWebhookEndpoints(ctx context.Context, _ generated.ListWebhookEndpointsRequestObject) (generated.ListWebhookEndpointsResponseObject, error) {
	info := httpx.InfoFrom(ctx)
	es, err := s.webhooks.Endpoints(ctx, info.ClientID)
	if err != nil {
		return nil, err
	}
	body := generated.WebhookEndpointList{Data: make([]generated.WebhookEndpoint, len(es))}
	for i, e := range es {
		body.Data[i] = toEndpoint(e)
	}
	return generated.ListWebhookEndpoints200JSONResponse{
		Body: body,
	}, nil
}

func (s *Server) GetWebhookEndpoint(ctx context.Context, req generated.GetWebhookEndpointRequestObject) (generated.GetWebhookEndpointResponseObject, error) {
	info := httpx.InfoFrom(ctx)
	e, err := s.webhooks.Endpoint(ctx, info.ClientID, req.EndpointId)
	if err != nil {
		return nil, err
	}
	return generated.GetWebhookEndpoint200JSONResponse{
		Body: toEndpoint(e),
	}, nil
}

func (s *Server) DeleteWebhookEndpoint(ctx context.Context, req generated.DeleteWebhookEndpointRequestObject) (generated.DeleteWebhookEndpointResponseObject, error) {
	info := httpx.InfoFrom(ctx)
	if err := s.webhooks.DeleteEndpoint(ctx, info.ClientID, req.EndpointId); err != nil {
		return nil, err
	}
	return generated.DeleteWebhookEndpoint204Response{}, nil
}

func (s *Server) RotateWebhookEndpointSecret(ctx context.Context, req generated.RotateWebhookEndpointSecretRequestObject) (generated.RotateWebhookEndpointSecretResponseObject, error) {
	info := httpx.InfoFrom(ctx)
	e, err := s.webhooks.RotateSecret(ctx, info.ClientID, req.EndpointId)
	if err != nil {
		return nil, err
	}
	return generated.RotateWebhookEndpointSecret200JSONResponse{
		Body: withSecret(e),
	}, nil
}

func (s *Server) RecoverWebhookDeliveries(ctx context.Context, req generated.RecoverWebhookDeliveriesRequestObject) (generated.RecoverWebhookDeliveriesResponseObject, error) {
	info := httpx.InfoFrom(ctx)
	n, err := s.webhooks.Recover(ctx, info.ClientID, req.EndpointId, req.Body.Since)
	if err != nil {
		return nil, err
	}
	return generated.RecoverWebhookDeliveries202JSONResponse{
		Body: generated.RecoverResult{Requeued: int(n)},
	}, nil
}

func (s *Server) ListEvents(ctx context.Context, req generated.ListEventsRequestObject) (generated.ListEventsResponseObject, error) {
	info := httpx.InfoFrom(ctx)
	limit := defaultPageSize
	if req.Params.Limit != nil {
		limit = *req.Params.Limit
	}
	// The published contract lists investor.created alone; subscription
	// events are delivered but not listed until it declares them.
	typ := string(generated.EventTypeInvestorCreated)
	page, err := s.webhooks.Events(ctx, info.ClientID, &typ, req.Params.Cursor, limit)
	if err != nil {
		return nil, err
	}
	body := generated.EventList{Data: make([]generated.Event, len(page.Events)), NextCursor: page.NextCursor, HasMore: page.NextCursor != nil}
	for i, e := range page.Events {
		data, err := eventData(e)
		if err != nil {
			return nil, err
		}
		body.Data[i] = generated.Event{Id: e.EventID, Type: generated.EventType(e.Type), CreatedAt: e.CreatedAt.UTC(), Data: data}
	}
	return generated.ListEvents200JSONResponse{
		Body: body,
	}, nil
}

func (s *Server) GetEvent(ctx context.Context, req generated.GetEventRequestObject) (generated.GetEventResponseObject, error) {
	info := httpx.InfoFrom(ctx)
	d, err := s.webhooks.Event(ctx, info.ClientID, req.EventId)
	if err != nil {
		return nil, err
	}
	if d.Event.Type != string(generated.EventTypeInvestorCreated) {
		return nil, apperr.New(apperr.NotFound, "No event with this id.")
	}
	data, err := eventData(d.Event)
	if err != nil {
		return nil, err
	}
	body := generated.EventDetail{
		Id: d.Event.EventID, Type: generated.EventType(d.Event.Type), CreatedAt: d.Event.CreatedAt.UTC(), Data: data,
		Deliveries: make([]generated.Delivery, len(d.Deliveries)),
		Attempts:   make([]generated.DeliveryAttempt, len(d.Attempts)),
	}
	for i, dl := range d.Deliveries {
		out := generated.Delivery{EndpointId: dl.EndpointID, Status: generated.DeliveryStatus(dl.Status), Attempts: dl.Attempts, DeliveredAt: utc(dl.DeliveredAt)}
		if dl.Status == models.DeliveryPending {
			next := dl.NextAttemptAt.UTC()
			out.NextAttemptAt = &next
		}
		body.Deliveries[i] = out
	}
	for i, a := range d.Attempts {
		body.Attempts[i] = generated.DeliveryAttempt{EndpointId: a.EndpointID, AttemptedAt: a.AttemptedAt.UTC(),
			StatusCode: a.StatusCode, LatencyMs: a.LatencyMS, Error: a.Error}
	}
	return generated.GetEvent200JSONResponse{
		Body: body,
	}, nil
}

// eventData reads the data member of the payload that deliveries send, so
// that the API shows exactly what receivers get.
func eventData(e models.Event) (generated.InvestorCreatedData, error) {
	var payload struct {
		Data generated.InvestorCreatedData `json:"data"`
	}
	if err := json.Unmarshal([]byte(e.Payload), &payload); err != nil {
		return payload.Data, fmt.Errorf("event %s has an unreadable payload: %w", e.EventID, err)
	}
	return payload.Data, nil
}

func toEndpoint(e models.WebhookEndpoint) generated.WebhookEndpoint {
	return generated.WebhookEndpoint{
		Id: e.ID, Url: e.URL, Description: e.Description, Status: generated.WebhookEndpointStatus(e.Status),
		DisabledReason: e.DisabledReason, CreatedAt: e.CreatedAt.UTC(),
	}
}

func withSecret(e models.WebhookEndpoint) generated.WebhookEndpointWithSecret {
	return generated.WebhookEndpointWithSecret{
		Id: e.ID, Url: e.URL, Description: e.Description, Status: generated.WebhookEndpointWithSecretStatus(e.Status),
		DisabledReason: e.DisabledReason, CreatedAt: e.CreatedAt.UTC(), Secret: e.Secret,
	}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
