package subscriptions

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/webhooks"
	"github.com/zestequity/zest-api/models"
)

// Row outcomes.
const (
	Created       = "created"
	AlreadyExists = "already_exists"
	Failed        = "failed"
)

// Row error codes, as declared by the SubscriptionRowError schema.
const (
	CodeRequired         = "required"
	CodeFormat           = "format"
	CodeTooLong          = "too_long"
	CodeUnknownField     = "unknown_field"
	CodeNotFound         = "not_found"
	CodeCurrencyMismatch = "currency_mismatch"
	CodeMinValue         = "min_value"
	CodeDuplicate        = "duplicate"
	CodeConflict         = "conflict"
	CodeUnavailable      = "unavailable"
)

// Row fields.
const (
	FieldPartnerSubscriptionID = "partnerSubscriptionId"
	FieldZestPersonID          = "zestPersonId"
	FieldLumpSum               = "lumpSum"
	FieldCurrency              = "lumpSum.currency"
	FieldValue                 = "lumpSum.value"
	FieldShareClassSlug        = "shareClassSlug"
)

// RowError explains why a row failed.
type RowError struct {
	Code      string
	Field     string // empty when the failure concerns the whole row
	Message   string
	Retryable bool
}

// RowResult answers one submitted row.
type RowResult struct {
	Outcome               string
	PartnerSubscriptionID *string       // as submitted, when valid
	Subscription          *Subscription // created and already_exists
	Error                 *RowError     // failed
}

func (r *RowResult) fail(code, field, msg string) {
	r.Outcome = Failed
	r.Error = &RowError{Code: code, Field: field, Message: msg, Retryable: code == CodeUnavailable}
}

// row is a row that passed the checks that need no database.
type row struct {
	index        int
	zestPersonID string
	shareClass   models.ShareClass
	amount       string // canonical
	partnerID    *string
}

var (
	zestPersonIDRE = regexp.MustCompile(`^psn_[0-9a-z]+$`)
	partnerIDRE    = regexp.MustCompile(`^[^\s\x00-\x1F\x7F](?:[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F])?$`)
)

// Create subscribes the batch's investors to the tenant's SPV and returns one
// result per row, in order. A bad row fails alone; an unknown SPV is
// not_found and a closed one spv_closed, for the whole batch.
//
// Rows are plain JSON values, as decoded by the request validator. The write
// is set-based: the SPV, the investors of the batch (through their Users),
// then one write of the new subscriptions with their events, which also
// returns the existing subscriptions of the batch's people.
func (s *Service) Create(ctx context.Context, clientID, spvSlug string, batch []any) ([]RowResult, error) {
	spv, err := s.SPV(ctx, clientID, spvSlug)
	if err != nil {
		return nil, err
	}
	if spv.Status == models.SPVClosed {
		return nil, apperr.New(apperr.SPVClosed, "The SPV is closed and takes no new subscriptions.")
	}
	classes := make(map[string]models.ShareClass, len(spv.ShareClasses))
	for _, c := range spv.ShareClasses {
		classes[c.Slug] = c
	}
	results := make([]RowResult, len(batch))
	first := make(map[string]int, len(batch))
	var todo []row
	for i, v := range batch {
		res := &results[i]
		r, ok := s.check(spv, classes, v, res)
		if r.zestPersonID != "" {
			// A repeated investor fails whatever else the row holds: the
			// first occurrence is the one processed.
			if j, seen := first[r.zestPersonID]; seen {
				res.Error = nil
				res.fail(CodeDuplicate, FieldZestPersonID, fmt.Sprintf("zestPersonId already appears earlier in this batch (row %d)", j))
				continue
			}
			first[r.zestPersonID] = i
		}
		if ok {
			r.index = i
			todo = append(todo, r)
		}
	}
	if len(todo) == 0 {
		return results, nil
	}
	return results, s.write(ctx, spv, todo, results)
}

// check applies the rules that need no database, in the schema's field
// order, and returns the row with ok when it passes. The zestPersonId is
// returned whenever it is well formed, for duplicate detection.
func (s *Service) check(spv SPV, classes map[string]models.ShareClass, v any, res *RowResult) (r row, ok bool) {
	obj, isObj := v.(map[string]any)
	if !isObj {
		res.fail(CodeFormat, "", "the row must be a JSON object")
		return r, false
	}
	if p, has := obj[FieldPartnerSubscriptionID]; has && p != nil {
		if str, isStr := p.(string); isStr && len(str) <= 128 && partnerIDRE.MatchString(str) {
			r.partnerID = &str
			res.PartnerSubscriptionID = &str
		}
	}
	if zid, isStr := obj[FieldZestPersonID].(string); isStr && len(zid) <= 64 && zestPersonIDRE.MatchString(zid) {
		r.zestPersonID = zid
	}
	if k := unknownKey(obj, FieldPartnerSubscriptionID, FieldZestPersonID, FieldLumpSum, FieldShareClassSlug); k != "" {
		res.fail(CodeUnknownField, k, "the row has a property that the row schema does not define")
		return r, false
	}
	if p, has := obj[FieldPartnerSubscriptionID]; has && p != nil && r.partnerID == nil {
		str, isStr := p.(string)
		switch {
		case !isStr || str == "":
			res.fail(CodeFormat, FieldPartnerSubscriptionID, "partnerSubscriptionId must be a non-empty string")
		case len(str) > 128:
			res.fail(CodeTooLong, FieldPartnerSubscriptionID, "partnerSubscriptionId must be at most 128 characters")
		default:
			res.fail(CodeFormat, FieldPartnerSubscriptionID, "partnerSubscriptionId must have no surrounding whitespace and no control characters")
		}
		return r, false
	}
	if !requiredString(obj, FieldZestPersonID, res) {
		return r, false
	}
	if r.zestPersonID == "" {
		res.fail(CodeFormat, FieldZestPersonID, "zestPersonId must be an id returned by POST /v1/investors")
		return r, false
	}
	lump, has := obj[FieldLumpSum]
	if !has || lump == nil {
		res.fail(CodeRequired, FieldLumpSum, "lumpSum is required")
		return r, false
	}
	money, isObj := lump.(map[string]any)
	if !isObj {
		res.fail(CodeFormat, FieldLumpSum, "lumpSum must be an object with currency and value")
		return r, false
	}
	if k := unknownKey(money, "currency", "value"); k != "" {
		res.fail(CodeUnknownField, FieldLumpSum+"."+k, "lumpSum has a property that its schema does not define")
		return r, false
	}
	if !requiredString(money, "currency", res) || !requiredString(money, "value", res) {
		return r, false
	}
	currency, value := money["currency"].(string), money["value"].(string)
	if !ValidCurrency(currency) {
		res.fail(CodeFormat, FieldCurrency, "lumpSum.currency must be an ISO 4217 code in upper case")
		return r, false
	}
	if !requiredString(obj, FieldShareClassSlug, res) {
		return r, false
	}
	class, found := classes[obj[FieldShareClassSlug].(string)]
	if !found {
		res.fail(CodeNotFound, FieldShareClassSlug, "the SPV has no share class with this shareClassSlug")
		return r, false
	}
	if currency != spv.Currency {
		res.fail(CodeCurrencyMismatch, FieldCurrency, "lumpSum.currency must be the SPV's currency, "+spv.Currency)
		return r, false
	}
	amount, canon, problem := ParseAmount(value, currency)
	if problem != "" {
		res.fail(CodeFormat, FieldValue, "lumpSum.value "+problem)
		return r, false
	}
	if spv.MinAmount != nil {
		min, _, _ := ParseAmount(*spv.MinAmount, spv.Currency)
		if min != nil && amount.Cmp(min) < 0 {
			res.fail(CodeMinValue, FieldValue, "lumpSum.value is below the SPV's minimum, "+canonical(*spv.MinAmount, spv.Currency))
			return r, false
		}
	}
	r.shareClass, r.amount = class, canon
	return r, true
}

// requiredString fails the row unless obj[field] is a non-blank string.
func requiredString(obj map[string]any, field string, res *RowResult) bool {
	name := field
	if field == "currency" || field == "value" {
		name = FieldLumpSum + "." + field
	}
	v, has := obj[field]
	str, isStr := v.(string)
	switch {
	case !has || v == nil || (isStr && strings.TrimSpace(str) == ""):
		res.fail(CodeRequired, name, name+" is required")
	case !isStr:
		res.fail(CodeFormat, name, name+" must be a string")
	default:
		return true
	}
	return false
}

func unknownKey(obj map[string]any, known ...string) string {
	var unknown []string
	for k := range obj {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return ""
	}
	return slices.Min(unknown)
}

func (s *Service) write(ctx context.Context, spv SPV, todo []row, results []RowResult) error {
	zids := make([]string, len(todo))
	for i, r := range todo {
		zids[i] = r.zestPersonID
	}
	found, err := s.store.Investors(ctx, spv.ClientID, zids)
	if err != nil {
		return err
	}
	investors := make(map[string]Investor, len(found))
	for _, inv := range found {
		investors[inv.ZestPersonID] = inv
	}
	now := s.now()
	var subs []NewSubscription
	var known []row
	for _, r := range todo {
		inv, ok := investors[r.zestPersonID]
		if !ok {
			results[r.index].fail(CodeNotFound, FieldZestPersonID, "the tenant has no investor with this zestPersonId")
			continue
		}
		sub := models.Subscription{
			SubscriptionSlug: newSlug(), ClientID: spv.ClientID, SPVID: spv.ID, PersonID: inv.PersonID, UserID: inv.UserID,
			ShareClassID: r.shareClass.ID, Currency: spv.Currency, Amount: r.amount, PartnerSubscriptionID: r.partnerID,
			Status: models.SubscriptionPending,
		}
		ev, err := webhooks.SubscriptionCreated(spv.ClientID, webhooks.SubscriptionCreatedData{
			SubscriptionSlug: sub.SubscriptionSlug, SPVSlug: spv.Slug, PersonID: r.zestPersonID,
			PartnerSubscriptionID: r.partnerID, LumpSum: webhooks.Money{Currency: spv.Currency, Value: r.amount},
			ShareClassSlug: r.shareClass.Slug,
		}, now)
		if err != nil {
			return err
		}
		subs = append(subs, NewSubscription{Subscription: sub, Event: ev})
		known = append(known, r)
	}
	if len(subs) == 0 {
		return nil
	}
	written, err := s.store.WriteSubscriptions(ctx, spv.ID, subs)
	if err != nil {
		if apperr.CodeOf(err) != apperr.Unavailable {
			return err
		}
		s.log.WarnContext(ctx, "writing subscriptions failed; the rows are reported retryable",
			"client_id", spv.ClientID, "spv", spv.Slug, "rows", len(subs), "error", err)
		for _, r := range known {
			results[r.index].fail(CodeUnavailable, "", "the subscription could not be recorded because of a temporary server failure; resubmit this row")
		}
		return nil
	}
	byPerson := make(map[int64]Written, len(written))
	for _, w := range written {
		byPerson[w.PersonID] = w
	}
	slugs := make(map[int64]string, len(spv.ShareClasses))
	for _, c := range spv.ShareClasses {
		slugs[c.ID] = c.Slug
	}
	for i, r := range known {
		res := &results[r.index]
		w, ok := byPerson[subs[i].Subscription.PersonID]
		if !ok {
			return fmt.Errorf("subscription of person %d neither written nor found", subs[i].Subscription.PersonID)
		}
		amount := canonical(w.Amount, w.Currency)
		switch {
		case w.Inserted:
			res.Outcome = Created
		case w.ShareClassID == r.shareClass.ID && w.Currency == spv.Currency && amount == r.amount && equal(w.PartnerSubscriptionID, r.partnerID):
			res.Outcome = AlreadyExists
		default:
			res.fail(CodeConflict, "", "the investor already has a subscription to this SPV with other terms")
			continue
		}
		res.Subscription = &Subscription{
			ID: w.ID, SubscriptionSlug: w.SubscriptionSlug, SPVSlug: spv.Slug, PersonID: r.zestPersonID, Status: w.Status,
			Currency: w.Currency, Amount: amount, ShareClassSlug: slugs[w.ShareClassID], PartnerSubscriptionID: w.PartnerSubscriptionID,
			CreatedAt: w.CreatedAt, CompletedAt: w.CompletedAt,
		}
	}
	return nil
}

func equal(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
