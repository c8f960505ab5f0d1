package rows

import (
	"slices"
	"testing"

	"github.com/zestequity/zest-api/internal/spec"
)

// The row error codes the service produces are exactly those openapi.yaml
// declares.
func TestRowErrorCodesMatchSpec(t *testing.T) {
	doc, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, v := range doc.Components.Schemas["RowError"].Value.Properties["code"].Value.Enum {
		declared = append(declared, v.(string))
	}
	ours := []string{CodeRequired, CodeFormat, CodeTooLong, CodeOutOfRange, CodeUnknownField, CodeDuplicate, CodeConflict, CodeUnavailable}
	slices.Sort(declared)
	slices.Sort(ours)
	if !slices.Equal(declared, ours) {
		t.Errorf("openapi.yaml declares %v, the service has %v", declared, ours)
	}
}
