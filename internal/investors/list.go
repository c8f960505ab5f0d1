package investors

import (
	"context"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/paging"
	"github.com/zestequity/zest-api/models"
)

// ListQuery selects a page of a tenant's investors.
type ListQuery struct {
	PartnerInvestorID *string
	Cursor            *string
	Limit             int
}

// Page is a page of investors in creation order.
type Page struct {
	Investors  []models.Person
	NextCursor *string // nil on the last page
}

// List returns a page of the tenant's investors, oldest first.
func (s *Service) List(ctx context.Context, clientID string, q ListQuery) (Page, error) {
	var after int64
	if q.Cursor != nil {
		id, ok := paging.Decode(*q.Cursor)
		if !ok {
			return Page{}, apperr.New(apperr.InvalidCursor, "cursor is not a nextCursor returned by this API.")
		}
		after = id
	}
	// One extra row tells whether another page follows.
	people, err := s.store.ListPeople(ctx, PeopleQuery{
		ClientID: clientID, PartnerInvestorID: q.PartnerInvestorID, AfterID: after, Limit: q.Limit + 1,
	})
	if err != nil {
		return Page{}, err
	}
	var page Page
	page.Investors, page.NextCursor = paging.Page(people, q.Limit, func(p models.Person) int64 { return p.ID })
	return page, nil
}
