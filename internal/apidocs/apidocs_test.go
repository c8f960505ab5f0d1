package apidocs

import (
	"regexp"
	"strings"
	"testing"

	"github.com/zestequity/zest-api/internal/spec"
)

// Every file is served with a media type that openapi.yaml declares for it.
func TestMediaTypesAreDeclared(t *testing.T) {
	doc, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	declared := func(path string) map[string]bool {
		out := map[string]bool{}
		for mt := range doc.Paths.Value(path).Get.Responses.Status(200).Value.Content {
			out[mt] = true
		}
		return out
	}
	if page := Page(); !declared("/docs")[page.MediaType] {
		t.Errorf("the page is %s, which GET /docs does not declare", page.MediaType)
	}
	assets := declared("/docs/{asset}")
	for name, f := range catalog().assets {
		if !assets[f.MediaType] {
			t.Errorf("%s is %s, which GET /docs/{asset} does not declare", name, f.MediaType)
		}
	}
	if len(catalog().assets) == 0 {
		t.Fatal("no assets")
	}
}

// The page and its start-up script name no other origin, and everything the
// page loads is one of the files served under /docs/.
func TestPageLoadsOnlyItsOwnFiles(t *testing.T) {
	script, ok := Asset("init.js")
	if !ok {
		t.Fatal("init.js is missing")
	}
	for _, f := range []File{Page(), script} {
		if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9]`).FindString(string(f.Body)); m != "" {
			t.Errorf("%s refers to another origin: %s", f.Name, m)
		}
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(string(Page().Body), -1)
	if len(refs) < 3 {
		t.Fatalf("the page refers to %d files; expected a style sheet and two scripts", len(refs))
	}
	for _, ref := range refs {
		url := ref[1]
		if url == "data:," {
			continue // the empty favicon, which spares a request
		}
		name, ok := strings.CutPrefix(url, "/docs/")
		if _, found := Asset(name); !ok || !found {
			t.Errorf("the page loads %s, which is not served under /docs/", url)
		}
	}
	if strings.Contains(string(Page().Body), "<script>") || strings.Contains(string(Page().Body), " style=") {
		t.Error("the page has inline script or style, which its Content-Security-Policy forbids")
	}
}

// The vendored files are all there, untouched by the page's names.
func TestSwaggerUIIsVendored(t *testing.T) {
	for _, name := range []string{"swagger-ui-bundle.js", "swagger-ui-bundle.js.LICENSE.txt", "swagger-ui.css", "LICENSE", "NOTICE"} {
		if _, ok := Asset(name); !ok {
			t.Errorf("%s is missing; run make docs-assets", name)
		}
	}
}
