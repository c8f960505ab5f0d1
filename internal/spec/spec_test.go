package spec

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	zestapi "github.com/zestequity/zest-api"
	"github.com/zestequity/zest-api/generated"
	"github.com/zestequity/zest-api/internal/ids"
)

// The spec embedded in the generated server is the published spec plus the
// server-only overlay, and nothing else.
func TestGeneratedSpecIsPublishedSpecPlusOverlay(t *testing.T) {
	published, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := generated.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	// The overlay's targets: the rows of the batch endpoints, and the
	// document /openapi.json answers.
	items := embedded.Components.Schemas["ImportInvestorsRequest"].Value.Properties["investors"].Value.Items
	subs := embedded.Components.Schemas["CreateSubscriptionsRequest"].Value.Properties["subscriptions"].Value.Items
	document := embedded.Components.Schemas["OpenAPIDocument"].Value
	for name, target := range map[string]struct {
		ext    *map[string]any
		goType string
	}{
		"import rows":       {&items.Extensions, "interface{}"},
		"subscription rows": {&subs.Extensions, "interface{}"},
		"OpenAPIDocument":   {&document.Extensions, "json.RawMessage"},
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

// Every POST accepts Idempotency-Key and declares what it may answer, but
// for the unauthenticated ones: keys are scoped to a tenant.
func TestEveryPostDeclaresIdempotencyKey(t *testing.T) {
	doc, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths.Map() {
		if item.Post == nil || (item.Post.Security != nil && len(*item.Post.Security) == 0) {
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

// Every operation is documented and illustrated: a summary, a description,
// and an example for each request body and each response that has content;
// and every example is valid against its schema.
func TestOperationsAreDocumentedWithValidExamples(t *testing.T) {
	doc, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.Summary == "" || op.Description == "" {
				t.Errorf("%s: needs a summary and a description", name)
			}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				checkExamples(t, name+" request", rb.Value.Content, openapi3.VisitAsRequest())
			}
			for status, resp := range op.Responses.Map() {
				if resp.Value != nil {
					checkExamples(t, name+" "+status, resp.Value.Content, openapi3.VisitAsResponse())
				}
			}
		}
	}
}

func checkExamples(t *testing.T, name string, content openapi3.Content, opt openapi3.SchemaValidationOption) {
	t.Helper()
	for mediaType, mt := range content {
		var values []any
		if mt.Example != nil {
			values = append(values, mt.Example)
		}
		for _, ex := range mt.Examples {
			if ex.Value != nil {
				values = append(values, ex.Value.Value)
			}
		}
		if len(values) == 0 {
			t.Errorf("%s %s: no example", name, mediaType)
			continue
		}
		if mt.Schema == nil || mt.Schema.Value == nil {
			continue
		}
		for _, v := range values {
			// Examples go through JSON, as they do on the wire.
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			var value any
			if err := json.Unmarshal(b, &value); err != nil {
				t.Fatal(err)
			}
			if err := mt.Schema.Value.VisitJSON(value, opt, openapi3.MultiErrors()); err != nil {
				t.Errorf("%s %s: an example does not match its schema: %v", name, mediaType, err)
			}
		}
	}
}

// Tag descriptions are one short line: Swagger UI shows them in a narrow
// column beside the tag's name, so anything longer belongs in the
// introduction (info.description).
func TestTagDescriptionsAreShort(t *testing.T) {
	doc, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range doc.Tags {
		if d := tag.Description; len(d) > 200 || strings.Contains(strings.TrimSpace(d), "\n") {
			t.Errorf("tag %s: description of %d bytes over several lines; move it into info.description", tag.Name, len(d))
		}
	}
}

// The ids in examples have the shape of the server's own, so that a partner
// who compares an example with a real answer, or validates ids against the
// examples, sees no difference: a stored row's id is ids.Sorted (36
// characters of Crockford base32), any other id ids.New (26 of base32).
func TestExampleIDsHaveTheServersShape(t *testing.T) {
	shapes := map[string]*regexp.Regexp{
		"psn": sortedShape, "sub": sortedShape, "evt": sortedShape, "doc": sortedShape,
		"err": randomShape, "req": randomShape, "we": randomShape,
	}
	for prefix, shape := range map[string]*regexp.Regexp{"psn": sortedShape, "err": randomShape} {
		if id := map[string]func(string) string{"psn": ids.Sorted, "err": ids.New}[prefix](prefix + "_"); !shape.MatchString(id) {
			t.Fatalf("the shape of %s_ ids no longer matches the ids package: %s", prefix, id)
		}
	}
	found := map[string]int{}
	// File URLs hold ids in their escaped obj parameter.
	text := strings.ReplaceAll(string(zestapi.OpenAPIYAML), "%2F", "/")
	for _, m := range idLike.FindAllStringSubmatch(text, -1) {
		shape, ok := shapes[m[1]]
		if !ok {
			continue
		}
		found[m[1]]++
		if !shape.MatchString(m[0]) {
			t.Errorf("openapi.yaml: example id %s is not shaped like the server's %s_ ids (%s)", m[0], m[1], shape)
		}
	}
	for prefix := range shapes {
		if found[prefix] == 0 {
			t.Errorf("openapi.yaml has no example %s_ id: the check above checked nothing for it", prefix)
		}
	}
}

var (
	idLike      = regexp.MustCompile(`\b([a-z]+)_[0-9a-z]+\b`)
	sortedShape = regexp.MustCompile(`^[a-z]+_[0-9a-hjkmnp-tv-z]{35}[0g]$`)
	randomShape = regexp.MustCompile(`^[a-z]+_[a-z2-7]{26}$`)
)
