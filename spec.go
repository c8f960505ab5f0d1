// Package zestapi holds the Zest Partner API contract, openapi.yaml, and the
// directives that generate the server and client from it.
package zestapi

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config api/oapi-codegen-server.yaml openapi.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config api/oapi-codegen-client.yaml openapi.yaml

// OpenAPIYAML is the published contract, byte for byte. The server validates
// requests against it and serves it; generated code embeds an overlaid copy
// that must not be published.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// LoadSpec parses the published contract into a fresh document, which the
// caller may modify.
func LoadSpec() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("parse openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	return doc, nil
}
