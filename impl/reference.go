package impl

import (
	"bytes"
	"context"
	"fmt"

	"github.com/zestequity/zest-api/generated"
	"github.com/zestequity/zest-api/internal/apidocs"
	"github.com/zestequity/zest-api/internal/apperr"
	"github.com/zestequity/zest-api/internal/httpx"
)

// revalidate is the Cache-Control of the contract and its reference page:
// their URLs stay while their content changes with each release, and a
// revalidation costs a 304.
const revalidate = "no-cache"

func (s *Server) GetOpenAPIYAML(ctx context.Context, req generated.GetOpenAPIYAMLRequestObject) (generated.GetOpenAPIYAMLResponseObject, error) {
	info := httpx.InfoFrom(ctx)
	body := s.spec.YAML(info.ServerURL)
	tag := httpx.ETag(body)
	if current(req.Params.IfNoneMatch, tag) {
		return notModified(info, tag), nil
	}
	return generated.GetOpenAPIYAML200ApplicationyamlResponse{
		Body:          bytes.NewReader(body),
		ContentLength: int64(len(body)),
		Headers:       generated.GetOpenAPIYAML200ResponseHeaders{Etag: tag, CacheControl: revalidate},
	}, nil
}

func (s *Server) GetOpenAPIJSON(ctx context.Context, req generated.GetOpenAPIJSONRequestObject) (generated.GetOpenAPIJSONResponseObject, error) {
	info := httpx.InfoFrom(ctx)
	body, err := s.spec.JSON(info.ServerURL)
	if err != nil {
		return nil, err
	}
	tag := httpx.ETag(body)
	if current(req.Params.IfNoneMatch, tag) {
		return notModified(info, tag), nil
	}
	return generated.GetOpenAPIJSON200JSONResponse{
		Body:    body,
		Headers: generated.GetOpenAPIJSON200ResponseHeaders{Etag: tag, CacheControl: revalidate},
	}, nil
}

func (s *Server) GetDocs(ctx context.Context, req generated.GetDocsRequestObject) (generated.GetDocsResponseObject, error) {
	info := httpx.InfoFrom(ctx)
	page := apidocs.Page()
	if current(req.Params.IfNoneMatch, page.ETag) {
		return notModified(info, page.ETag), nil
	}
	return generated.GetDocs200TexthtmlResponse{
		Body:          bytes.NewReader(page.Body),
		ContentLength: int64(len(page.Body)),
		Headers: generated.GetDocs200ResponseHeaders{
			Etag: page.ETag, CacheControl: revalidate,
			ContentSecurityPolicy: apidocs.ContentSecurityPolicy,
		},
	}, nil
}

func (s *Server) GetDocsAsset(ctx context.Context, req generated.GetDocsAssetRequestObject) (generated.GetDocsAssetResponseObject, error) {
	info := httpx.InfoFrom(ctx)
	f, ok := apidocs.Asset(req.Asset)
	if !ok {
		return nil, apperr.New(apperr.NotFound, "No such file under /docs.")
	}
	if current(req.Params.IfNoneMatch, f.ETag) {
		return notModified(info, f.ETag), nil
	}
	headers := generated.GetDocsAsset200ResponseHeaders{
		Etag: f.ETag, CacheControl: revalidate,
		ContentSecurityPolicy: apidocs.ContentSecurityPolicy,
	}
	// One response type per media type that openapi.yaml declares.
	switch f.MediaType {
	case "text/javascript":
		return generated.GetDocsAsset200TextjavascriptResponse{Body: bytes.NewReader(f.Body), ContentLength: int64(len(f.Body)), Headers: headers}, nil
	case "text/css":
		return generated.GetDocsAsset200TextcssResponse{Body: bytes.NewReader(f.Body), ContentLength: int64(len(f.Body)), Headers: headers}, nil
	case "text/plain":
		return generated.GetDocsAsset200TextResponse{Body: string(f.Body), Headers: headers}, nil
	}
	return nil, fmt.Errorf("docs asset %s is %s, which GET /docs/{asset} does not declare", f.Name, f.MediaType)
}

// current reports whether the client's copy, named by If-None-Match, is the
// content tagged tag.
func current(ifNoneMatch *string, tag string) bool {
	return ifNoneMatch != nil && httpx.ETagMatches(*ifNoneMatch, tag)
}

func notModified(info *httpx.Info, tag string) generated.NotModifiedResponse {
	return generated.NotModifiedResponse{Headers: generated.NotModifiedResponseHeaders{Etag: tag, CacheControl: revalidate}}
}
