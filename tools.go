//go:build tools

package zestapi

// Pins the code generators in go.mod so that `make generate` is reproducible.
import (
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
)
