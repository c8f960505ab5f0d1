// Package zestapi is the Zest Partner API contract, openapi.yaml, and the
// directives that generate the server and client from it. Everything else
// lives under internal/, impl/, models/ and cmd/.
package zestapi

import _ "embed"

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config api/oapi-codegen-server.yaml openapi.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config api/oapi-codegen-client.yaml openapi.yaml

// OpenAPIYAML is the published contract, byte for byte. The server validates
// requests against it and serves it; generated code embeds an overlaid copy
// that must not be published.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte
