package httpapi

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// notUTF8 is a string of a JSON document whose bytes are not UTF-8: the
// path to it, and whether it is an object's member name rather than a value.
type notUTF8 struct {
	path []string
	name bool
}

// pointer writes the path as a JSON Pointer (RFC 6901), with any bytes that
// are not UTF-8 in the names along it shown as U+FFFD.
func (n notUTF8) pointer() string {
	var b strings.Builder
	for _, p := range n.path {
		b.WriteByte('/')
		p = strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1")
		b.WriteString(clip(strings.ToValidUTF8(p, "\uFFFD")))
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

type frame struct {
	array bool
	index int    // of the next element of an array
	name  string // of the current member of an object
	value bool   // an object's member name was read; its value comes next
}

// findNotUTF8 lists the strings of body, a valid JSON document, that are
// not UTF-8. encoding/json would read each bad byte as U+FFFD, storing a
// character the client never sent.
func findNotUTF8(body []byte) []notUTF8 {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []frame
	var out []notUTF8
	path := func(extra string, withExtra bool) []string {
		p := make([]string, 0, len(stack)+1)
		for _, f := range stack {
			switch {
			case f.array:
				p = append(p, strconv.Itoa(f.index))
			case f.value:
				p = append(p, f.name)
			}
		}
		if withExtra {
			p = append(p, extra)
		}
		return p
	}
	// valueDone moves the enclosing container past the value just read.
	valueDone := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].array {
				stack[n-1].index++
			} else {
				stack[n-1].value = false
			}
		}
	}
	for {
		from := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		raw := body[from:dec.InputOffset()]
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, frame{array: t == '['})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if n := len(stack); n > 0 && !stack[n-1].array && !stack[n-1].value {
				if !utf8.Valid(raw) {
					out = append(out, notUTF8{path: path(t, true), name: true})
				}
				stack[n-1].name, stack[n-1].value = t, true
				continue
			}
			if !utf8.Valid(raw) {
				out = append(out, notUTF8{path: path("", false)})
			}
			valueDone()
		default:
			valueDone()
		}
	}
}
