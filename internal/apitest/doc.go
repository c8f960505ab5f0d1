// Package apitest holds the component tests of the API: they drive the real
// router through the generated client, on SQLite and on PostgreSQL, and every
// response they receive is validated against openapi.yaml.
package apitest
