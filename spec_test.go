package zestapi_test

import (
	"encoding/json"
	"testing"

	zestapi "github.com/zestequity/zest-api"
	"github.com/zestequity/zest-api/generated"
)

// The spec embedded in the generated server is the published spec plus the
// server-only overlay, and nothing else.
func TestGeneratedSpecIsPublishedSpecPlusOverlay(t *testing.T) {
	published, err := zestapi.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := generated.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	// The overlay's targets: the import rows, and the document /openapi.json
	// answers.
	items := embedded.Components.Schemas["ImportInvestorsRequest"].Value.Properties["investors"].Value.Items
	document := embedded.Components.Schemas["OpenAPIDocument"].Value
	for name, target := range map[string]struct {
		ext    *map[string]any
		goType string
	}{
		"import rows":     {&items.Extensions, "interface{}"},
		"OpenAPIDocument": {&document.Extensions, "json.RawMessage"},
	} {
		ext := target.ext
		if got := (*ext)["x-go-type"]; got != target.goType {
			t.Fatalf("overlay not applied to %s: x-go-type = %v", name, got)
		}
		delete(*ext, "x-go-type")
		if len(*ext) == 0 {
			*ext = nil
		}
	}
	a, _ := json.Marshal(published)
	b, _ := json.Marshal(embedded)
	if string(a) != string(b) {
		t.Errorf("the generated server's spec differs from openapi.yaml beyond the overlay; run make generate")
	}
}

// Every POST accepts Idempotency-Key and declares what it may answer.
func TestEveryPostDeclaresIdempotencyKey(t *testing.T) {
	doc, err := zestapi.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths.Map() {
		if item.Post == nil {
			continue
		}
		if p := item.Post.Parameters.GetByInAndName("header", "Idempotency-Key"); p == nil {
			t.Errorf("POST %s does not declare the Idempotency-Key header", path)
		}
		for _, status := range []string{"409", "422"} {
			if item.Post.Responses.Value(status) == nil {
				t.Errorf("POST %s does not declare its %s response", path, status)
			}
		}
	}
}
