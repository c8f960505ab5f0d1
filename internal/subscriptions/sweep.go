package subscriptions

import (
	"context"
	"time"

	"github.com/zestequity/zest-api/internal/periodic"
)

// FileGrace is how old a file without a document must be before the sweep
// deletes it. An upload writes its file first and its document after, and
// gives up unless the document is written within half of this, so that the
// sweep never takes the file of an upload still under way; the other half
// absorbs the skew between the bucket's clock, which dates the files, and
// the sweeping process's.
const FileGrace = time.Hour

// blobPrefix starts the key of every uploaded file; the sweep looks nowhere
// else in the bucket.
const blobPrefix = "subscriptions/"

// SweepFiles deletes, in one pass over the bucket, the uploaded files that no
// document references and that are older than the grace period: those of
// uploads that crashed, or lost the database, between writing the file and
// writing its document. It returns how many it deleted.
//
// Any number of processes may sweep at once: a file is only deleted once no
// upload can give it a document any more, and deleting it twice is no error.
func (s *Service) SweepFiles(ctx context.Context) (int, error) {
	deleted := 0
	err := s.files.Older(ctx, blobPrefix, s.now().Add(-s.fileGrace), s.sweepPage, func(keys []string) error {
		referenced, err := s.store.ReferencedBlobKeys(ctx, keys)
		if err != nil {
			return err
		}
		keep := make(map[string]bool, len(referenced))
		for _, k := range referenced {
			keep[k] = true
		}
		for _, k := range keys {
			if keep[k] {
				continue
			}
			if err := s.files.Delete(ctx, k); err != nil {
				return err
			}
			deleted++
		}
		return nil
	})
	return deleted, err
}

// RunFileSweeper sweeps the files every interval until ctx ends.
func (s *Service) RunFileSweeper(ctx context.Context, every time.Duration) {
	periodic.Run(ctx, every, func(ctx context.Context) {
		n, err := s.SweepFiles(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "sweeping files without a document failed", "deleted", n, "error", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "swept files without a document", "deleted", n)
		}
	})
}
