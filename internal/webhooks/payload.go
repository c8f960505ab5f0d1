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
