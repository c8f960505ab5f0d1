package gormstore

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/models"
)

// PersonByZestID returns the tenant's person with that public id.
func (s *Store) PersonByZestID(ctx context.Context, clientID, zestPersonID string) (models.Person, error) {
	var p models.Person
	err := s.DB.WithContext(ctx).Where("client_id = ? AND zest_person_id = ?", clientID, zestPersonID).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return p, models.ErrNotFound
	}
	return p, s.Classify(err)
}

// ListPeople returns up to q.Limit people after q.AfterID, in id order.
func (s *Store) ListPeople(ctx context.Context, q investors.PeopleQuery) ([]models.Person, error) {
	db := s.DB.WithContext(ctx).Where("client_id = ? AND id > ?", q.ClientID, q.AfterID)
	if q.PartnerInvestorID != nil {
		db = db.Where("partner_investor_id = ?", *q.PartnerInvestorID)
	}
	var out []models.Person
	err := db.Order("id").Limit(q.Limit).Find(&out).Error
	return out, s.Classify(err)
}
