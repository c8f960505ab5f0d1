package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/getkin/kin-openapi/openapi3"
	zestapi "github.com/zestequity/zest-api"
)

// servedDescription describes the one server that a published copy lists.
const servedDescription = "The server that served this document"

// Published is openapi.yaml as the server publishes it: the contract
// itself, with its servers replaced by the one address the reader reached,
// so that tools pointed at a server's copy talk to that server.
type Published struct {
	// The JSON copy's top-level members but servers, encoded once: encoding
	// the whole document again costs milliseconds.
	members map[string]json.RawMessage
	// openapi.yaml before and after its servers section, which the YAML copy
	// replaces in the text: everything else stays byte for byte.
	head, tail []byte
}

// NewPublished prepares openapi.yaml for publishing.
func NewPublished() (*Published, error) {
	doc, err := Load()
	if err != nil {
		return nil, err
	}
	doc.Servers = nil
	encoded, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode openapi.yaml as JSON: %w", err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(encoded, &members); err != nil {
		return nil, fmt.Errorf("encode openapi.yaml as JSON: %w", err)
	}
	head, tail, err := splitAtServers(zestapi.OpenAPIYAML)
	if err != nil {
		return nil, err
	}
	return &Published{members: members, head: head, tail: tail}, nil
}

// YAML returns openapi.yaml with a servers section that lists serverURL
// alone.
func (p *Published) YAML(serverURL string) []byte {
	var b bytes.Buffer
	b.Grow(len(p.head) + len(p.tail) + 128)
	b.Write(p.head)
	// A JSON string is a valid YAML double-quoted scalar, whatever the Host
	// header held.
	b.WriteString("servers:\n  - url: ")
	b.Write(jsonString(serverURL))
	b.WriteString("\n    description: ")
	b.Write(jsonString(servedDescription))
	b.WriteString("\n")
	b.Write(p.tail)
	return b.Bytes()
}

// JSON returns the same document as YAML, encoded as JSON.
func (p *Published) JSON(serverURL string) ([]byte, error) {
	servers, err := json.Marshal(openapi3.Servers{{URL: serverURL, Description: servedDescription}})
	if err != nil {
		return nil, err
	}
	members := maps.Clone(p.members)
	members["servers"] = servers
	return json.Marshal(members)
}

func jsonString(s string) []byte {
	b, _ := json.Marshal(s) // cannot fail for a string
	return b
}

// splitAtServers cuts a YAML document around its top-level servers section:
// the line "servers:" and every line after it that is indented, a sequence
// item, a comment or blank, up to the next top-level key.
func splitAtServers(src []byte) (head, tail []byte, err error) {
	start, offset := -1, 0
	for line := range bytes.Lines(src) {
		switch {
		case start < 0 && string(bytes.TrimRight(line, " \r\n")) == "servers:":
			start = offset
		case start >= 0 && startsTopLevelKey(line):
			return src[:start], src[offset:], nil
		}
		offset += len(line)
	}
	if start < 0 {
		return nil, nil, errors.New(`openapi.yaml has no top-level "servers:" line to publish the serving address under`)
	}
	return src[:start], nil, nil
}

func startsTopLevelKey(line []byte) bool {
	if len(line) == 0 {
		return false
	}
	switch line[0] {
	case ' ', '\t', '-', '#', '\r', '\n':
		return false
	}
	return true
}
