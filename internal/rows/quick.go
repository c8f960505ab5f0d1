package rows

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode/utf16"

	"github.com/getkin/kin-openapi/openapi3"
)

// quickSchema accepts the rows that certainly satisfy the row schema, at a
// fraction of what kin-openapi's general validator costs (measured: a quarter
// of the server's CPU per batch). It knows only the keywords the row schema
// uses, and is built from the schema itself, so the spec stays the single
// source of the rules; a schema using anything else is not compiled and
// every row takes the general path. A row it does not accept is validated
// again by kin-openapi, which explains the failure: only its acceptances
// matter, and a test compares them with kin-openapi's verdicts.
type quickSchema struct {
	props    map[string]quickProp
	required []string
	closed   bool // additionalProperties: false
}

type quickProp struct {
	minLength uint64
	maxLength *uint64
	pattern   *regexp.Regexp
	format    openapi3.StringFormatValidator
}

var (
	quickObjectKeys   = keySet("type", "description", "example", "required", "properties", "additionalProperties")
	quickPropertyKeys = keySet("type", "description", "example", "nullable", "minLength", "maxLength", "pattern", "format")
)

func keySet(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// compileQuick returns the quick check of s, or nil when s uses something
// the quick check does not implement. formats are the per-validation string
// formats; the others come from kin-openapi's defaults.
func compileQuick(s *openapi3.Schema, formats map[string]openapi3.StringFormatValidator) *quickSchema {
	if !onlyKeys(s, quickObjectKeys) || !s.Type.Is("object") || s.AdditionalProperties.Schema != nil {
		return nil
	}
	q := &quickSchema{props: map[string]quickProp{}, required: s.Required}
	q.closed = s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has
	for name, ref := range s.Properties {
		p := ref.Value
		if p == nil || !onlyKeys(p, quickPropertyKeys) || !p.Type.Is("string") {
			return nil
		}
		qp := quickProp{minLength: p.MinLength, maxLength: p.MaxLength}
		if p.Pattern != "" {
			// kin-openapi rewrites \u escapes before compiling; rows' patterns
			// need no such rewriting, and one that does is left to it.
			if strings.Contains(p.Pattern, `\u`) {
				return nil
			}
			re, err := regexp.Compile(p.Pattern)
			if err != nil {
				return nil
			}
			qp.pattern = re
		}
		if p.Format != "" {
			f, ok := formats[p.Format]
			if !ok {
				if f, ok = openapi3.SchemaStringFormats[p.Format]; !ok {
					return nil
				}
			}
			qp.format = f
		}
		q.props[name] = qp
	}
	return q
}

// onlyKeys reports whether s sets no keyword outside allowed.
func onlyKeys(s *openapi3.Schema, allowed map[string]bool) bool {
	b, err := json.Marshal(s)
	if err != nil {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	for k := range m {
		if !allowed[k] {
			return false
		}
	}
	return true
}

// accepts reports whether obj certainly satisfies the schema.
func (q *quickSchema) accepts(obj map[string]any) bool {
	for _, name := range q.required {
		if _, ok := obj[name]; !ok {
			return false
		}
	}
	for name, v := range obj {
		p, ok := q.props[name]
		if !ok {
			if q.closed {
				return false
			}
			continue
		}
		s, ok := v.(string)
		if !ok || !p.acceptsString(s) {
			return false
		}
	}
	return true
}

func (p quickProp) acceptsString(s string) bool {
	if p.minLength != 0 || p.maxLength != nil {
		// Counted exactly as kin-openapi counts.
		n := uint64(0)
		for _, r := range s {
			if utf16.IsSurrogate(r) {
				n += 2
			} else {
				n++
			}
		}
		if n < p.minLength || p.maxLength != nil && n > *p.maxLength {
			return false
		}
	}
	if p.pattern != nil && !p.pattern.MatchString(s) {
		return false
	}
	return p.format == nil || p.format.Validate(s) == nil
}
