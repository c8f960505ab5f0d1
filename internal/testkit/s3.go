package testkit

import (
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

var s3Credentials sync.Once

// S3 serves an empty bucket from an in-process S3-compatible server
// (gofakes3) over HTTP until the test ends, and returns the ZEST_BLOB_URL
// that names it: the files go through the same driver, SDK and request
// signing as in production. now dates the objects it stores (nil: the real
// clock), so that a test clock can age them.
func S3(t testing.TB, now func() time.Time) string {
	t.Helper()
	// The SDK takes static credentials from the environment, as it does in
	// production. The server accepts any, so one pair serves every test of
	// the process, parallel ones included, which t.Setenv would refuse.
	s3Credentials.Do(func() {
		for k, v := range map[string]string{
			"AWS_ACCESS_KEY_ID": "zest-test", "AWS_SECRET_ACCESS_KEY": "zest-test-secret", "AWS_EC2_METADATA_DISABLED": "true",
		} {
			if err := os.Setenv(k, v); err != nil {
				t.Fatal(err)
			}
		}
	})
	if now == nil {
		now = time.Now
	}
	clock := s3Clock(now)
	backend := s3mem.New(s3mem.WithTimeSource(clock))
	if err := backend.CreateBucket("zest-files"); err != nil {
		t.Fatal(err)
	}
	// A test clock is not the time the SDK signs requests at, so the server
	// must not refuse requests for their skew.
	srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithTimeSource(clock), gofakes3.WithTimeSkewLimit(0)).Server())
	t.Cleanup(srv.Close)
	q := url.Values{"endpoint": {srv.URL}, "use_path_style": {"true"}, "region": {"us-east-1"}}
	return "s3://zest-files?" + q.Encode()
}

type s3Clock func() time.Time

func (c s3Clock) Now() time.Time                  { return c() }
func (c s3Clock) Since(t time.Time) time.Duration { return c().Sub(t) }
