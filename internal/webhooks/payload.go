package webhooks

import (
	"encoding/json"
	"time"

	"github.com/zestequity/zest-api/internal/ids"
	"github.com/zestequity/zest-api/models"
)

// InvestorCreatedData is the data of an investor.created event: the row
// response of the import, plus who performed KYC.
type InvestorCreatedData struct {
	PartnerInvestorID string `json:"partnerInvestorId"`
	Status            string `json:"status"`
	ZestPersonID      string `json:"zestPersonId"`
	KYCManagedBy      string `json:"kycManagedBy"`
}

// envelope is the Standard Webhooks payload.
type envelope struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      any    `json:"data"`
}

// InvestorCreated returns the event recording that an investor was created.
// Its payload is fixed now: every delivery and retry sends these bytes.
func InvestorCreated(clientID string, personID int64, partnerInvestorID, zestPersonID string, at time.Time) (models.Event, error) {
	at = at.UTC().Truncate(time.Microsecond)
	payload, err := json.Marshal(envelope{
		Type:      models.EventInvestorCreated,
		Timestamp: at.Format(time.RFC3339Nano),
		Data: InvestorCreatedData{
			PartnerInvestorID: partnerInvestorID,
			Status:            "created",
			ZestPersonID:      zestPersonID,
			KYCManagedBy:      models.KYCManagedByPartner,
		},
	})
	return models.Event{
		EventID:   ids.Sorted("evt_"),
		ClientID:  clientID,
		Type:      models.EventInvestorCreated,
		PersonID:  &personID,
		Payload:   string(payload),
		CreatedAt: at,
	}, err
}

// Money is an exact amount: value is a decimal string, never a float.
type Money struct {
	Currency string `json:"currency"`
	Value    string `json:"value"`
}

// SubscriptionCreatedData is the data of a subscription.created event.
type SubscriptionCreatedData struct {
	SubscriptionSlug      string  `json:"subscriptionSlug"`
	SPVSlug               string  `json:"spvSlug"`
	PersonID              string  `json:"personId"`
	PartnerSubscriptionID *string `json:"partnerSubscriptionId,omitempty"`
	LumpSum               Money   `json:"lumpSum"`
	ShareClassSlug        string  `json:"shareClassSlug"`
	Status                string  `json:"status"`
}

// SubscriptionCompletedData is the data of a subscription.completed event.
type SubscriptionCompletedData struct {
	SubscriptionSlug      string  `json:"subscriptionSlug"`
	SPVSlug               string  `json:"spvSlug"`
	PersonID              string  `json:"personId"`
	PartnerSubscriptionID *string `json:"partnerSubscriptionId,omitempty"`
	Status                string  `json:"status"`
	CompletedAt           string  `json:"completedAt"`
}

// SubscriptionCreated returns the event recording that a subscription was
// created; the driver sets its SubscriptionID once the row has one.
func SubscriptionCreated(clientID string, d SubscriptionCreatedData, at time.Time) (models.Event, error) {
	d.Status = models.SubscriptionPending
	return event(clientID, models.EventSubscriptionCreated, d, at)
}

// SubscriptionCompleted returns the event recording that a subscription was
// completed at the time of the event.
func SubscriptionCompleted(clientID string, subscriptionID int64, d SubscriptionCompletedData, at time.Time) (models.Event, error) {
	at = at.UTC().Truncate(time.Microsecond)
	d.Status, d.CompletedAt = models.SubscriptionCompleted, at.Format(time.RFC3339Nano)
	e, err := event(clientID, models.EventSubscriptionCompleted, d, at)
	e.SubscriptionID = &subscriptionID
	return e, err
}

func event(clientID, typ string, data any, at time.Time) (models.Event, error) {
	at = at.UTC().Truncate(time.Microsecond)
	payload, err := json.Marshal(envelope{Type: typ, Timestamp: at.Format(time.RFC3339Nano), Data: data})
	return models.Event{
		EventID:   ids.Sorted("evt_"),
		ClientID:  clientID,
		Type:      typ,
		Payload:   string(payload),
		CreatedAt: at,
	}, err
}

// FormUploadedData is the data of a signed_subscription_form.uploaded event.
type FormUploadedData struct {
	SubscriptionSlug    string  `json:"subscriptionSlug"`
	SPVSlug             string  `json:"spvSlug"`
	PersonID            string  `json:"personId"`
	PartnerInvestorID   *string `json:"partnerInvestorId,omitempty"`
	SubscriptionFormURL string  `json:"subscriptionFormUrl"`
	UploadedAt          string  `json:"uploadedAt"`
}

// FundingUploadedData is the data of a funding_receipt.uploaded event.
type FundingUploadedData struct {
	SubscriptionSlug  string `json:"subscriptionSlug"`
	SPVSlug           string `json:"spvSlug"`
	PersonID          string `json:"personId"`
	FundingReceiptURL string `json:"fundingReceiptUrl"`
	Amount            string `json:"amount"`
	Currency          string `json:"currency"`
	WireReference     string `json:"wireReference"`
	UploadedAt        string `json:"uploadedAt"`
}

// DocumentUploaded returns the event recording an upload of the
// subscription: typ is models.EventFormUploaded with FormUploadedData or
// models.EventFundingUploaded with FundingUploadedData.
func DocumentUploaded(clientID string, subscriptionID int64, typ string, data any, at time.Time) (models.Event, error) {
	e, err := event(clientID, typ, data, at)
	e.SubscriptionID = &subscriptionID
	return e, err
}
