package spec

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	zestapi "github.com/zestequity/zest-api"
)

// Both published copies are openapi.yaml with one server, the one asked for;
// the YAML copy is openapi.yaml byte for byte outside its servers section.
func TestPublishedSpec(t *testing.T) {
	p, err := NewPublished()
	if err != nil {
		t.Fatal(err)
	}
	const url = "http://[::1]:8080"
	js, err := p.JSON(url)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"YAML": p.YAML(url), "JSON": js} {
		t.Run(name, func(t *testing.T) {
			doc, err := openapi3.NewLoader().LoadFromData(body)
			if err != nil {
				t.Fatal(err)
			}
			if err := doc.Validate(context.Background()); err != nil {
				t.Fatalf("not a valid OpenAPI document: %v", err)
			}
			if len(doc.Servers) != 1 || doc.Servers[0].URL != url {
				t.Fatalf("servers = %+v, want only %s", doc.Servers, url)
			}
			if !sameSpecButServers(t, doc) {
				t.Error("the published document differs from openapi.yaml beyond servers")
			}
		})
	}

	head, tail, err := splitAtServers(p.YAML(url))
	if err != nil {
		t.Fatal(err)
	}
	origHead, origTail, _ := splitAtServers(zestapi.OpenAPIYAML)
	if !bytes.Equal(head, origHead) || !bytes.Equal(tail, origTail) {
		t.Error("the YAML copy differs from openapi.yaml outside its servers section")
	}
	if len(tail) == 0 || len(origHead)+len(origTail) >= len(zestapi.OpenAPIYAML) {
		t.Error("openapi.yaml was not cut around a servers section")
	}
}

// sameSpecButServers compares doc with openapi.yaml, servers aside.
func sameSpecButServers(t *testing.T, doc *openapi3.T) bool {
	t.Helper()
	want, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	want.Servers, doc.Servers = nil, nil
	a, _ := json.Marshal(want)
	b, _ := json.Marshal(doc)
	return bytes.Equal(a, b)
}

// Whatever a Host header holds reaches the document as a string, never as
// YAML structure.
func TestPublishedYAMLQuotesTheServerURL(t *testing.T) {
	p, err := NewPublished()
	if err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{"http://a\"b", "http://x\n    description: injected", "http://h:1 # c", "https://ñ.example"} {
		doc, err := openapi3.NewLoader().LoadFromData(p.YAML(url))
		if err != nil {
			t.Fatalf("%q: %v", url, err)
		}
		if len(doc.Servers) != 1 || doc.Servers[0].URL != url || doc.Servers[0].Description != servedDescription {
			t.Errorf("%q: servers = %+v", url, doc.Servers)
		}
	}
}

func TestSplitAtServers(t *testing.T) {
	for _, c := range []struct{ name, src, head, tail string }{
		{"indented items", "openapi: 3.0.3\nservers:\n  - url: a\n\n    description: b\n# note\ntags: []\n", "openapi: 3.0.3\n", "tags: []\n"},
		{"unindented items", "servers:\n- url: a\npaths: {}\n", "", "paths: {}\n"},
		{"last section", "info: {}\nservers:  \n  - url: a\n", "info: {}\n", ""},
		{"nested servers stay", "paths:\n  /x:\n    servers:\n      - url: a\nservers:\n  - url: b\n", "paths:\n  /x:\n    servers:\n      - url: a\n", ""},
	} {
		head, tail, err := splitAtServers([]byte(c.src))
		if err != nil || string(head) != c.head || string(tail) != c.tail {
			t.Errorf("%s: got %q, %q, %v; want %q, %q", c.name, head, tail, err, c.head, c.tail)
		}
	}
	if _, _, err := splitAtServers([]byte("openapi: 3.0.3\nservers: [{url: a}]\n")); err == nil {
		t.Error("a flow-style servers section was accepted")
	}
}
