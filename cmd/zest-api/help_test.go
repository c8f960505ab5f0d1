package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/zestequity/zest-api/internal/config"
	"github.com/zestequity/zest-api/internal/spec"
)

// Every command and subcommand answers -h, --help and `zest-api help` with
// its usage and flags, on stdout, exit 0, without touching a database.
func TestHelp(t *testing.T) {
	cases := []struct {
		command string
		flags   []string
	}{
		{"serve", []string{"--demo"}},
		{"worker", nil},
		{"migrate", nil},
		{"check", []string{"--repair"}},
		{"tenants create", []string{"--name", "--unprovisioned"}},
		{"tenants provision", nil},
		{"tenants suspend", nil},
		{"tokens create", nil},
		{"tokens list", nil},
		{"tokens revoke", nil},
		{"keys add", []string{"--kid", "--public-key"}},
		{"keys list", nil},
		{"keys jwks", nil},
		{"keys jwks-remove", nil},
		{"keys revoke", nil},
		{"keys generate", []string{"--out"}},
		{"spvs create", []string{"--name", "--currency", "--share-class", "--min-amount"}},
		{"spvs list", nil},
		{"spvs close", nil},
		{"subscriptions complete", nil},
		{"import", []string{"--url", "--token", "--client-id", "--kid", "--private-key", "--results", "--batch-size", "--format"}},
	}
	top, _, code := cli(t, "mysql://never-opened", nil, "--help")
	if code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	listed := regexp.MustCompile(`(?m)^  zest-api ([a-z]+(?: [a-z-]+)?)`).FindAllStringSubmatch(top, -1)
	if len(listed) != len(cases) {
		t.Errorf("the usage lists %d commands, the test %d:\n%s", len(listed), len(cases), top)
	}
	for i, c := range cases {
		if i < len(listed) && listed[i][1] != c.command {
			t.Errorf("the usage lists %q where the test has %q", listed[i][1], c.command)
		}
		words := strings.Fields(c.command)
		for _, args := range [][]string{slices.Concat(words, []string{"--help"}), slices.Concat(words, []string{"-h"}), slices.Concat([]string{"help"}, words)} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				t.Parallel()
				out, errs, code := cli(t, "mysql://never-opened", nil, args...)
				if code != 0 || errs != "" || !strings.HasPrefix(out, "Usage:\n  zest-api "+c.command) {
					t.Fatalf("exit %d, stderr %q, stdout %q", code, errs, out)
				}
				for _, f := range c.flags {
					if !strings.Contains(out, "  "+f) {
						t.Errorf("the usage does not name %s: %q", f, out)
					}
				}
			})
		}
	}
	for _, group := range [][]string{{"tenants", "--help"}, {"tokens", "-h"}, {"help", "tokens"}, {"help"}, {"-h"}} {
		if out, errs, code := cli(t, "mysql://never-opened", nil, group...); code != 0 || errs != "" || !strings.HasPrefix(out, "Usage:") {
			t.Errorf("%q: exit %d, stderr %q, stdout %q", group, code, errs, out)
		}
	}
	if _, errs, code := cli(t, "", nil, "help", "frobnicate"); code != 2 || !strings.Contains(errs, "no such command") {
		t.Errorf("help of an unknown command: exit %d, %q", code, errs)
	}
}

// The usage and README.md name every environment variable the
// configuration reads, as Parse asks for them.
func TestUsageNamesEveryVariable(t *testing.T) {
	var read []string
	config.Parse(func(name string) (string, bool) { read = append(read, name); return "", false })
	if len(read) == 0 {
		t.Fatal("Parse read no variable")
	}
	usage, _, _ := cli(t, "", nil, "help")
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range read {
		if !strings.Contains(usage, "  "+name+" ") {
			t.Errorf("the usage does not list %s", name)
		}
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("README.md does not list %s", name)
		}
	}
}

// The import's help and README.md name every column of the file, which are
// the contract's InvestorInput fields, and its exit statuses.
func TestImportHelpDocumentsTheFile(t *testing.T) {
	doc, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	input := doc.Components.Schemas["InvestorInput"].Value
	help, _, code := cli(t, "", nil, "import", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range input.Properties {
		if !strings.Contains(help, name) || !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("the import's help or README.md does not name the column %s", name)
		}
	}
	for _, want := range []string{"Exit status:", "  0 ", "  1 ", "  2 ", "  3 ", ".journal", "results"} {
		if !strings.Contains(help, want) {
			t.Errorf("the import's help does not say %q", want)
		}
	}
}
