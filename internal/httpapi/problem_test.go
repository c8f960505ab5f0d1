package httpapi

import (
	"fmt"
	"strings"
	"testing"

	"github.com/zestequity/zest-api/internal/spec"
)

// Every error code the server can answer is documented in openapi.yaml with
// its status, and every documented code is one the server knows.
func TestProblemCodesAreDocumented(t *testing.T) {
	doc, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	// Problem is RFC 9457's members and Zest's, joined by allOf.
	var desc string
	for _, part := range doc.Components.Schemas["Problem"].Value.AllOf {
		if code := part.Value.Properties["code"]; code != nil {
			desc = code.Value.Description
		}
	}
	documented := 0
	for line := range strings.Lines(desc) {
		if strings.HasPrefix(strings.TrimSpace(line), "- `") {
			documented++
		}
	}
	for code, k := range kinds {
		if want := fmt.Sprintf("`%s` (%d)", code, k.status); !strings.Contains(desc, want) {
			t.Errorf("openapi.yaml does not document %s", want)
		}
	}
	if documented != len(kinds) {
		t.Errorf("openapi.yaml documents %d codes, the server has %d", documented, len(kinds))
	}
}
