package investors

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/zestequity/zest-api/apperr"
	"github.com/zestequity/zest-api/models"
	"github.com/zestequity/zest-api/store"
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

// cursorPrefix versions the cursor format so that it can change later while
// old cursors are still rejected cleanly.
const cursorPrefix = "c1_"

// List returns a page of the tenant's investors, oldest first.
func (s *Service) List(ctx context.Context, clientID string, q ListQuery) (Page, error) {
	var after int64
	if q.Cursor != nil {
		id, ok := decodeCursor(*q.Cursor)
		if !ok {
			return Page{}, apperr.New(apperr.InvalidCursor, "cursor is not a nextCursor returned by this API.")
		}
		after = id
	}
	// One extra row tells whether another page follows.
	people, err := s.store.ListPeople(ctx, store.PeopleQuery{
		ClientID: clientID, PartnerInvestorID: q.PartnerInvestorID, AfterID: after, Limit: q.Limit + 1,
	})
	if err != nil {
		return Page{}, err
	}
	page := Page{Investors: people}
	if len(people) > q.Limit {
		page.Investors = people[:q.Limit]
		c := encodeCursor(page.Investors[q.Limit-1].ID)
		page.NextCursor = &c
	}
	return page, nil
}

func encodeCursor(id int64) string {
	return cursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (int64, bool) {
	rest, ok := strings.CutPrefix(c, cursorPrefix)
	if !ok {
		return 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return 0, false
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != string(b) {
		return 0, false
	}
	return id, true
}
