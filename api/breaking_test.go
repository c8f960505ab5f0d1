//go:build breaking

// Package api_test checks the breaking-change gate itself. Building oasdiff
// costs more than the rest of go test ./... on a cold cache, so the check
// runs with make breaking, behind the build tag above.
package api_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The breaking-change gate (make breaking) passes for openapi.yaml against
// the last published contract, and fails for a change that breaks clients,
// including the removal of an optional response property.
func TestBreakingChangesAreCaught(t *testing.T) {
	dir := t.TempDir()
	oasdiff := filepath.Join(dir, "oasdiff")
	if out, err := exec.Command("go", "build", "-o", oasdiff, "github.com/oasdiff/oasdiff").CombinedOutput(); err != nil {
		t.Fatalf("build oasdiff: %v\n%s", err, out)
	}
	check := func(revision string) (string, error) {
		out, err := exec.Command(oasdiff, "breaking", "released/openapi.yaml", revision,
			"--fail-on", "ERR", "--severity-levels", "oasdiff-levels.txt", "--flatten-allof").CombinedOutput()
		return string(out), err
	}
	if out, err := check("../openapi.yaml"); err != nil {
		t.Fatalf("openapi.yaml breaks the published contract:\n%s", out)
	}

	spec, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, from, to, rule string }{
		{"an optional response property removed",
			"        zestPersonId:\n          $ref: '#/components/schemas/ZestPersonId'\n        error:\n",
			"        error:\n", "response-optional-property-removed"},
		{"an operation removed",
			"  /v1/events/{eventId}:\n    get:\n", "  /v1/events/{eventId}:\n    x-removed:\n", "api-removed-without-deprecation"},
		{"a request property made required",
			"      required: [url]\n", "      required: [url, description]\n", "required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if strings.Count(string(spec), c.from) != 1 {
				t.Fatalf("openapi.yaml no longer has the text this case changes: %q", c.from)
			}
			broken := filepath.Join(dir, "broken.yaml")
			if err := os.WriteFile(broken, []byte(strings.Replace(string(spec), c.from, c.to, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := check(broken)
			if err == nil || !strings.Contains(out, c.rule) {
				t.Errorf("not caught (%v):\n%s", err, out)
			}
		})
	}
}
