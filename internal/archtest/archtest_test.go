// Package archtest asserts the dependency rules: the services own their
// storage ports and link no database code; only the drivers under
// internal/store, and the composition roots that open them, do.
package archtest

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/zestequity/zest-api"

// database lists the packages, with those below them, of database code.
var database = []string{
	module + "/internal/store",
	"gorm.io",
	"github.com/jackc/pgx",
	"github.com/glebarez/sqlite",
	"github.com/glebarez/go-sqlite",
	"modernc.org/sqlite",
}

// services must link no database code, directly or not.
var services = []string{
	"internal/investors",
	"internal/tenants",
	"internal/idempotency",
	"internal/webhooks",
	"internal/subscriptions",
	"internal/importer",
	"internal/rows",
	"internal/httpapi",
	"impl",
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func TestServicesLinkNoDatabaseCode(t *testing.T) {
	for _, s := range services {
		path := module + "/" + s
		pkgs := deps(t, path)
		importers := map[string]string{}
		for _, p := range pkgs {
			for _, imp := range p.Imports {
				if _, seen := importers[imp]; !seen {
					importers[imp] = p.ImportPath
				}
			}
		}
		// Only where the rule is broken: what database code imports in turn
		// adds nothing to the message.
		for _, p := range pkgs {
			if isDatabase(p.ImportPath) && !isDatabase(importers[p.ImportPath]) {
				t.Errorf("%s links database code: %s, imported by %s", s, p.ImportPath, importers[p.ImportPath])
			}
		}
	}
}

// The row rules depend on the spec alone.
func TestRowsDependOnTheSpecAlone(t *testing.T) {
	for _, p := range deps(t, module+"/internal/rows") {
		if strings.HasPrefix(p.ImportPath, module+"/") && p.ImportPath != module+"/internal/rows" &&
			p.ImportPath != module+"/internal/spec" && !strings.HasPrefix(p.ImportPath, module+"/generated") && p.ImportPath != module {
			t.Errorf("internal/rows depends on %s; it may depend on the spec alone", p.ImportPath)
		}
	}
}

func isDatabase(path string) bool {
	for _, d := range database {
		if path == d || strings.HasPrefix(path, d+"/") {
			return true
		}
	}
	return false
}

// deps lists path and every package it depends on, test files excluded.
func deps(t *testing.T, path string) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", path, err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}
