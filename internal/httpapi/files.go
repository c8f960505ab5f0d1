package httpapi

import (
	"errors"
	"io"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/files"
)

// serveFile answers the signed URLs of a local file directory: the URL's
// signature and expiry are its only credential, like a bucket's signed URL.
// A URL that is tampered with, expired or names no file is a 404, which
// tells the holder nothing about which.
func (s *server) serveFile(st *files.Store) gin.HandlerFunc {
	return func(c *gin.Context) {
		r, mediaType, size, err := st.OpenSigned(c.Request.Context(), c.Request.URL.Query())
		if errors.Is(err, files.ErrBadSignature) {
			s.problem(c, apperr.New(apperr.NotFound, "The file URL is invalid or has expired."))
			return
		}
		if err != nil {
			s.problem(c, err)
			return
		}
		defer r.Close()
		h := c.Writer.Header()
		h.Set("Content-Type", mediaType)
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		h.Set("Cache-Control", files.CacheControl)
		h.Set("X-Content-Type-Options", "nosniff")
		c.Status(200)
		_, _ = io.Copy(c.Writer, r)
	}
}
