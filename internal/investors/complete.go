package investors

import (
	"context"
	"time"

	"github.com/zestequity/zest-api/internal/periodic"
)

// CompletePending completes, once, up to a batch of pairs left incomplete
// for longer than the grace period: a write that a crash or a lost
// connection interrupted between the Person and its User. Each is completed
// as a replay of its row would: the User, the investor.created event and its
// deliveries, in one transaction. It returns how many pairs it completed.
//
// Any number of processes may run it at once: the users' unique person_id
// decides which of them completes a pair, and only that one records the
// event.
func (s *Service) CompletePending(ctx context.Context) (int, error) {
	now := s.now()
	people, err := s.store.IncompletePeople(ctx, now.Add(-s.completeAfter), completeBatch)
	if err != nil || len(people) == 0 {
		return 0, err
	}
	cs := make([]Completion, len(people))
	for i, p := range people {
		row := PersonRow{ID: p.ID, ZestPersonID: p.ZestPersonID, PartnerInvestorID: p.PartnerInvestorID, Email: p.Email}
		if cs[i], err = completion(p.ClientID, row, now); err != nil {
			return 0, err
		}
	}
	done, err := s.store.CompletePairs(ctx, cs)
	return len(done), err
}

// CompleteAll runs CompletePending until it finds nothing left to complete,
// and returns how many pairs it completed.
func (s *Service) CompleteAll(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.CompletePending(ctx)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// RunCompleter completes pending pairs every interval until ctx ends.
func (s *Service) RunCompleter(ctx context.Context, every time.Duration) {
	periodic.Run(ctx, every, func(ctx context.Context) {
		n, err := s.CompleteAll(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "completing pending person/user pairs failed", "completed", n, "error", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "completed pending person/user pairs", "completed", n)
		}
	})
}

// Check counts the violations of the pair's and the outbox's invariants.
func (s *Service) Check(ctx context.Context) (Integrity, error) {
	return s.store.Integrity(ctx)
}
