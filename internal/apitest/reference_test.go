package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	zestapi "github.com/zestequity/zest-api"
	"github.com/zestequity/zest-api/internal/spec"
	"github.com/zestequity/zest-api/internal/testkit"
)

// The contract and its reference page touch no database: one dialect will do.
func newReferenceAPI(t *testing.T) *testkit.API {
	t.Helper()
	return testkit.NewAPI(t, testkit.SQLite, testkit.Options{})
}

// fetch GETs path through the validating client, with extra headers.
func fetch(t *testing.T, api *testkit.API, path string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, api.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if host := header["Host"]; host != "" {
		req.Host = host
	}
	resp, err := api.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func wantHeader(t *testing.T, resp *http.Response, name, want string) {
	t.Helper()
	if got := resp.Header.Get(name); got != want {
		t.Errorf("%s: %s = %q, want %q", resp.Request.URL.Path, name, got, want)
	}
}

// GET /openapi.yaml and /openapi.json serve openapi.yaml, whose one server is
// the address the client reached, and answer revalidations with 304.
func TestPublishedContract(t *testing.T) {
	t.Parallel()
	api := newReferenceAPI(t)
	_, port, _ := strings.Cut(strings.TrimPrefix(api.URL, "http://"), ":")
	for _, c := range []struct{ path, contentType string }{
		{"/openapi.yaml", "application/yaml"},
		{"/openapi.json", "application/json"},
	} {
		t.Run(strings.TrimPrefix(c.path, "/"), func(t *testing.T) {
			resp, body := fetch(t, api, c.path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			wantHeader(t, resp, "Content-Type", c.contentType)
			wantHeader(t, resp, "Cache-Control", "no-cache")
			wantContract(t, body, api.URL)

			// Any client can send X-Forwarded-*: they change nothing.
			_, body = fetch(t, api, c.path, map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"})
			wantContract(t, body, api.URL)

			tag := resp.Header.Get("ETag")
			if tag == "" {
				t.Fatal("no ETag")
			}
			for header, status := range map[string]int{tag: 304, `"stale", ` + tag: 304, `"stale"`: 200} {
				resp, body := fetch(t, api, c.path, map[string]string{"If-None-Match": header})
				if resp.StatusCode != status {
					t.Errorf("If-None-Match: %s answered %d, want %d", header, resp.StatusCode, status)
				}
				if status == 304 {
					wantHeader(t, resp, "ETag", tag)
					if len(body) != 0 || resp.Header.Get("Request-Id") == "" {
						t.Errorf("304 with a body of %d bytes, Request-Id %q", len(body), resp.Header.Get("Request-Id"))
					}
				}
			}
			// The copy of another address is another representation.
			resp, body = fetch(t, api, c.path, map[string]string{"If-None-Match": tag, "Host": "api.example:" + port})
			if resp.StatusCode != http.StatusOK {
				t.Errorf("the copy for another Host answered %d to this copy's ETag", resp.StatusCode)
			}
			wantContract(t, body, "http://api.example:"+port)
		})
	}

	// The YAML copy is the file itself outside the servers section.
	_, body := fetch(t, api, "/openapi.yaml", nil)
	src := string(zestapi.OpenAPIYAML)
	start, end := strings.Index(src, "\nservers:\n"), strings.Index(src, "\ntags:\n")
	if start < 0 || end < start {
		t.Fatal("openapi.yaml no longer has servers followed by tags; update this test")
	}
	if !strings.HasPrefix(string(body), src[:start+1]) || !strings.HasSuffix(string(body), src[end:]) {
		t.Error("the served YAML differs from openapi.yaml outside its servers section")
	}
}

// With ZEST_PUBLIC_URL set, the published contract names it whatever Host
// and X-Forwarded-* headers a client sends: a shared cache cannot be made to
// keep a copy that points readers elsewhere.
func TestPublishedContractPublicURL(t *testing.T) {
	t.Parallel()
	const public = "https://api.zestequity.example"
	api := testkit.NewAPI(t, testkit.SQLite, testkit.Options{PublicURL: public})
	for _, path := range []string{"/openapi.yaml", "/openapi.json"} {
		resp, plain := fetch(t, api, path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
		wantContract(t, plain, public)
		for _, header := range []map[string]string{
			{"Host": "evil.example"},
			{"Host": "evil.example", "X-Forwarded-Proto": "https"},
			{"X-Forwarded-Proto": "http", "X-Forwarded-Host": "evil.example", "Forwarded": "host=evil.example;proto=https"},
		} {
			hostile, body := fetch(t, api, path, header)
			if !bytes.Equal(body, plain) || hostile.Header.Get("ETag") != resp.Header.Get("ETag") {
				t.Errorf("%s with %v differs from the plain copy", path, header)
			}
		}
	}
}

// wantContract checks that body is a valid OpenAPI document equal to
// openapi.yaml but for its servers, which list serverURL alone.
func wantContract(t *testing.T, body []byte, serverURL string) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("not an OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("not a valid OpenAPI document: %v", err)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != serverURL {
		t.Errorf("servers %s, want only %s", jsonOf(doc.Servers), serverURL)
	}
	want, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	want.Servers, doc.Servers = nil, nil
	if !bytes.Equal(jsonOf(want), jsonOf(doc)) {
		t.Error("the served document differs from openapi.yaml beyond servers")
	}
}

func jsonOf(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// GET /docs serves the reference page and its files, under a
// Content-Security-Policy, and none of them loads from another origin.
func TestDocsPage(t *testing.T) {
	t.Parallel()
	api := newReferenceAPI(t)
	resp, page := fetch(t, api, "/docs", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, page)
	}
	wantHeader(t, resp, "Content-Type", "text/html")
	wantCSP(t, resp)
	if !strings.Contains(string(page), `id="swagger-ui"`) {
		t.Errorf("not the Swagger UI page: %s", page)
	}

	// Everything the page loads, and the licenses of what it runs.
	served := map[string]string{"/docs": string(page)}
	for _, m := range regexp.MustCompile(`(?:src|href)="(/docs/[^"]+)"`).FindAllStringSubmatch(string(page), -1) {
		served[m[1]] = ""
	}
	for _, name := range []string{"LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"} {
		served["/docs/"+name] = ""
	}
	wantTypes := map[string]string{".js": "text/javascript", ".css": "text/css", ".txt": "text/plain", "": "text/plain"}
	for path := range served {
		if path == "/docs" {
			continue
		}
		resp, body := fetch(t, api, path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", path, resp.StatusCode)
			continue
		}
		ext := regexp.MustCompile(`\.[a-z]+$`).FindString(path)
		wantHeader(t, resp, "Content-Type", wantTypes[ext])
		wantCSP(t, resp)
		served[path] = string(body)
	}
	for _, path := range []string{"/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/docs/init.js"} {
		if served[path] == "" {
			t.Fatalf("the page does not load %s", path)
		}
	}

	// Our own files name no origin at all; the vendored ones fetch nothing
	// from a CDN or a font service, and the style sheet's images are inline.
	anyURL := regexp.MustCompile(`(?i)\b(https?:)?//[a-z0-9.-]+`)
	for _, path := range []string{"/docs", "/docs/init.js"} {
		if m := anyURL.FindString(served[path]); m != "" {
			t.Errorf("%s refers to %s", path, m)
		}
	}
	for _, path := range []string{"/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"} {
		for _, s := range []string{"fonts.googleapis", "fonts.gstatic", "unpkg", "cdn.", "jsdelivr", "petstore.swagger.io"} {
			if strings.Contains(served[path], s) {
				t.Errorf("%s refers to %s", path, s)
			}
		}
	}
	css := served["/docs/swagger-ui.css"]
	if strings.Contains(css, "@import") {
		t.Error("the style sheet imports another")
	}
	for _, m := range regexp.MustCompile(`url\(\s*["']?([^"')]*)`).FindAllStringSubmatch(css, -1) {
		if u, err := url.Parse(m[1]); err != nil || (u.Scheme != "data" && (u.Scheme != "" || u.Host != "")) {
			t.Errorf("the style sheet loads %.80s", m[1])
		}
	}

	// Revalidation, and files that are not there.
	resp, _ = fetch(t, api, "/docs/swagger-ui-bundle.js", nil)
	resp, _ = fetch(t, api, "/docs/swagger-ui-bundle.js", map[string]string{"If-None-Match": resp.Header.Get("ETag")})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidating the bundle answered %d", resp.StatusCode)
	}
	for _, path := range []string{"/docs/missing.js", "/docs/index.html", "/docs/swagger-ui.js", "/docs/" + strings.Repeat("a", 300)} {
		resp, body := fetch(t, api, path, nil)
		wantProblem(t, http.StatusNotFound, body, resp.StatusCode, "not_found")
	}
}

func wantCSP(t *testing.T, resp *http.Response) {
	t.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, directive := range []string{"default-src 'self'", "script-src 'self'"} {
		if !strings.Contains(csp, directive+";") && !strings.HasSuffix(csp, directive) {
			t.Errorf("%s: Content-Security-Policy %q lacks %s", resp.Request.URL.Path, csp, directive)
		}
	}
	if strings.Contains(csp, "http") || strings.Contains(csp, "*") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: Content-Security-Policy %q allows another origin or eval", resp.Request.URL.Path, csp)
	}
}
