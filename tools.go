//go:build tools

package zestapi

// Pins the tools in go.mod so that their runs are reproducible: the code
// generator (make generate) and the breaking-change checker (make breaking).
import (
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
	_ "github.com/oasdiff/oasdiff"
)
