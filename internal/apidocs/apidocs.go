// Package apidocs is the interactive API reference served at /docs: Swagger
// UI, vendored from the swagger-ui-dist npm package, and a page that starts
// it on /openapi.json. Everything it loads comes from this binary.
package apidocs

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sync"

	"github.com/zestequity/zest-api/internal/httpx"
)

// ContentSecurityPolicy goes with the page and its files: nothing may be
// loaded from, or sent to, another origin. Swagger UI sets inline styles and
// draws its icons as data: images; its scripts are all files.
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// page/ is ours; swagger-ui/ is written by `make docs-assets` alone.
//
//go:embed page swagger-ui
var files embed.FS

// pageName is the file served at /docs; the others are its assets, served
// at /docs/{name}.
const pageName = "index.html"

// File is one file of the reference.
type File struct {
	Name      string
	MediaType string // as openapi.yaml declares it for the file's path
	Body      []byte
	ETag      string
}

// Page returns the page served at /docs.
func Page() File { return catalog().page }

// Asset returns the file served at /docs/{name}.
func Asset(name string) (File, bool) {
	f, ok := catalog().assets[name]
	return f, ok
}

type fileSet struct {
	page   File
	assets map[string]File
}

// catalog reads the embedded files once, on first use, and tags them.
var catalog = sync.OnceValue(func() fileSet {
	c := fileSet{assets: map[string]File{}}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		f := File{Name: d.Name(), Body: body, ETag: httpx.ETag(body)}
		if f.MediaType, err = mediaType(f.Name); err != nil {
			return err
		}
		switch _, dup := c.assets[f.Name]; {
		case p == path.Join("page", pageName):
			c.page = f
		case dup:
			return fmt.Errorf("two files are named %s", f.Name)
		default:
			c.assets[f.Name] = f
		}
		return nil
	})
	if err == nil && c.page.Body == nil {
		err = fmt.Errorf("page/%s is missing", pageName)
	}
	if err != nil {
		// The files are compiled in: this is a broken build, not a runtime
		// condition, and the package's tests fail on it.
		panic("apidocs: " + err.Error())
	}
	return c
})

func mediaType(name string) (string, error) {
	switch path.Ext(name) {
	case ".html":
		return "text/html", nil
	case ".js":
		return "text/javascript", nil
	case ".css":
		return "text/css", nil
	case ".txt", "": // licenses and notices
		return "text/plain", nil
	}
	return "", fmt.Errorf("%s: no media type for its extension; declare one here and in openapi.yaml", name)
}
