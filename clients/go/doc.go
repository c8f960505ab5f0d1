// Package goclient shows how to use the Go client generated from openapi.yaml,
// github.com/zestequity/zest-api/generated/client; see its example.
package goclient
