package apitest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/zestequity/zest-api/internal/spec"
	"github.com/zestequity/zest-api/internal/testenv"
)

// The reference page works in a real browser under its
// Content-Security-Policy: Swagger UI starts, loads /openapi.json and lists
// every operation of the contract, and the browser blocks nothing.
func TestDocsPageInBrowser(t *testing.T) {
	t.Parallel()
	browser := chromium(t)
	api := newReferenceAPI(t)

	profile, err := os.MkdirTemp("", "zest-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: the browser's helper processes may still be writing
	// there for a moment after it exits.
	t.Cleanup(func() { os.RemoveAll(profile) })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile,
		"--enable-logging=stderr", "--v=0", // console messages, CSP violations among them
		"--virtual-time-budget=10000", "--dump-dom", api.URL+"/docs")
	var dom, logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &dom, &logs
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, logs.String())
	}

	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, ":CONSOLE") {
			if strings.Contains(line, "Content Security Policy") {
				t.Errorf("the browser blocked something: %s", line)
			} else {
				t.Log(line)
			}
		}
	}
	doc, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	listed, hidden := 0, 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			shown := strings.Contains(dom.String(), op.Summary)
			switch {
			case op.Extensions["x-zest-reference-hidden"] == true:
				hidden++
				if shown {
					t.Errorf("the page lists %s %s (%q), which is marked x-zest-reference-hidden", method, path, op.Summary)
				}
			case shown:
				listed++
			default:
				t.Errorf("the page does not list %s %s (%q)", method, path, op.Summary)
			}
		}
	}
	if hidden == 0 {
		t.Error("no operation is marked x-zest-reference-hidden: the page's own routes would be listed as API")
	}
	// How deliveries work is a section of the introduction, not a tag
	// description, which Swagger UI squeezes into a column beside the tag.
	if !strings.Contains(dom.String(), "Delivery is at least once") {
		t.Error("the introduction does not say how webhooks are delivered")
	}
	if listed == 0 {
		t.Logf("DOM: %.2000s", dom.String())
	}
}

// chromium returns Debian's chromium, or skips the test without it unless
// ZEST_TEST_REQUIRE_BROWSER is set.
func chromium(t *testing.T) string {
	t.Helper()
	path, err := testenv.Chromium()
	if err != nil {
		if os.Getenv("ZEST_TEST_REQUIRE_BROWSER") != "" {
			t.Fatalf("ZEST_TEST_REQUIRE_BROWSER is set but %v", err)
		}
		t.Skipf("%v; set ZEST_TEST_REQUIRE_BROWSER to fail instead", err)
	}
	return path
}
