// Package spec loads the contract, openapi.yaml, for the code that reads it
// at run time: request validation, the row checker and the published copies.
package spec

import (
	"context"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"

	zestapi "github.com/zestequity/zest-api"
)

// Load parses the published contract into a fresh document, which the
// caller may modify.
func Load() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(zestapi.OpenAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("parse openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	return doc, nil
}
