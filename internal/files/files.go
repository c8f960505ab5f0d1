// Package files keeps uploaded files in object storage (gocloud.dev/blob):
// a local directory by default, an S3-compatible bucket in production. It
// hands out time-limited signed URLs: the bucket's own for S3, and for a
// local directory URLs that this server answers itself (Serve), signed with
// an HMAC key.
package files

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// URLs
	_ "gocloud.dev/blob/s3blob"   // s3:// URLs
	"gocloud.dev/gcerrors"
)

// ServePath is where the server answers the signed URLs of a local
// directory.
const ServePath = "/v1/files"

// CacheControl is the Cache-Control of a file fetched by its signed URL.
const CacheControl = "private, no-store"

// secretKey is the object holding the derived signing key of a local
// directory when ZEST_FILE_URL_SECRET is not set. Keys of uploads never
// start with it, and URLs are only signed for uploads.
const secretKey = "zest-internal/url-secret"

// Store is a bucket of uploaded files.
type Store struct {
	bucket *blob.Bucket
	local  bool
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// Open opens the bucket that rawURL names. For a local directory (file://)
// the URLs are signed with secret or, when it is empty, with a random key
// created once and kept in the directory, so that every process serving
// that directory signs alike.
func Open(ctx context.Context, rawURL string, secret []byte, ttl time.Duration, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("ZEST_BLOB_URL: %w", err)
	}
	s := &Store{ttl: ttl, now: now, local: u.Scheme == "file", secret: secret}
	if s.local {
		q := u.Query()
		// Without these, fileblob refuses a directory that does not exist
		// yet and writes its temporary files outside it (another device,
		// where the final rename fails).
		q.Set("create_dir", "true")
		q.Set("no_tmp_dir", "true")
		u.RawQuery = q.Encode()
	}
	s.bucket, err = blob.OpenBucket(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("open the file bucket: %w", err)
	}
	if s.local && len(s.secret) == 0 {
		if s.secret, err = s.derivedSecret(ctx); err != nil {
			_ = s.bucket.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *Store) derivedSecret(ctx context.Context) ([]byte, error) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	err := s.bucket.WriteAll(ctx, secretKey, key, &blob.WriterOptions{IfNotExist: true})
	if err != nil && gcerrors.Code(err) != gcerrors.FailedPrecondition {
		return nil, fmt.Errorf("store the file URL signing key: %w", err)
	}
	// Another process may have written the key first; its key is the one.
	key, err = s.bucket.ReadAll(ctx, secretKey)
	if err != nil {
		return nil, fmt.Errorf("read the file URL signing key: %w", err)
	}
	return key, nil
}

// Close closes the bucket.
func (s *Store) Close() error { return s.bucket.Close() }

// Put stores r under key. A failed write leaves nothing under key.
func (s *Store) Put(ctx context.Context, key, contentType string, r io.Reader) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.bucket.NewWriter(ctx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		// Cancelling before Close abandons the write.
		cancel()
		_ = w.Close()
		return err
	}
	return w.Close()
}

// Delete removes the file under key. A file that is gone already is no
// error: several processes may sweep the same file, and S3 itself does not
// tell.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.bucket.Delete(ctx, key); gcerrors.Code(err) != gcerrors.NotFound {
		return err
	}
	return nil
}

// Older calls fn with the keys of the files under prefix last written before
// cutoff, a page of the listing at a time, so that a bucket of any size is
// never held in memory; fn may delete the keys it is given. A local
// directory lists the temporary files of writes too, which a crash can
// leave behind like any other file.
func (s *Store) Older(ctx context.Context, prefix string, cutoff time.Time, pageSize int, fn func(keys []string) error) error {
	for token := blob.FirstPageToken; len(token) > 0; {
		objs, next, err := s.bucket.ListPage(ctx, token, pageSize, &blob.ListOptions{Prefix: prefix})
		// A local directory's listing fails when a file it read the name of
		// is deleted before it reads its attributes, as another process's
		// sweep does; listing the page again no longer sees that file.
		for retry := 0; gcerrors.Code(err) == gcerrors.NotFound && retry < 10; retry++ {
			objs, next, err = s.bucket.ListPage(ctx, token, pageSize, &blob.ListOptions{Prefix: prefix})
		}
		if err != nil {
			return err
		}
		var keys []string
		for _, o := range objs {
			if !o.IsDir && o.ModTime.Before(cutoff) {
				keys = append(keys, o.Key)
			}
		}
		if len(keys) > 0 {
			if err := fn(keys); err != nil {
				return err
			}
		}
		token = next
	}
	return nil
}

// URL returns a signed URL of the file under key, valid for the store's
// TTL. A local directory's URL is relative to this server (ServePath).
func (s *Store) URL(ctx context.Context, key string) (string, error) {
	if !s.local {
		// S3 answers with the Cache-Control that the signed URL names, so
		// that no shared cache keeps an investor's document, as with Serve.
		return s.bucket.SignedURL(ctx, key, &blob.SignedURLOptions{Expiry: s.ttl, BeforeSign: func(as func(any) bool) error {
			var in *s3.GetObjectInput
			if as(&in) {
				in.ResponseCacheControl = aws.String(CacheControl)
			}
			return nil
		}})
	}
	expiry := strconv.FormatInt(s.now().Add(s.ttl).Unix(), 10)
	q := url.Values{"obj": {key}, "expiry": {expiry}, "signature": {s.mac(key, expiry)}}
	return ServePath + "?" + q.Encode(), nil
}

func (s *Store) mac(key, expiry string) string {
	h := hmac.New(sha256.New, s.secret)
	h.Write([]byte(key + "\n" + expiry))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// ErrBadSignature is Serve's refusal of a URL it did not sign, or signed
// for a time that has passed.
var ErrBadSignature = errors.New("the file URL is not signed by this server or has expired")

// OpenSigned returns the file a signed URL's query names, with its media type
// and size.
func (s *Store) OpenSigned(ctx context.Context, q url.Values) (io.ReadCloser, string, int64, error) {
	key, expiry, sig := q.Get("obj"), q.Get("expiry"), q.Get("signature")
	exp, err := strconv.ParseInt(expiry, 10, 64)
	if !s.local || err != nil || strings.HasPrefix(key, secretKey) ||
		!hmac.Equal([]byte(sig), []byte(s.mac(key, expiry))) || s.now().Unix() > exp {
		return nil, "", 0, ErrBadSignature
	}
	r, err := s.bucket.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, "", 0, ErrBadSignature
	}
	if err != nil {
		return nil, "", 0, err
	}
	return r, r.ContentType(), r.Size(), nil
}

// Local reports whether this server answers the store's URLs itself.
func (s *Store) Local() bool { return s.local }
