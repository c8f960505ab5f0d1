# zest-api: `make help` lists the targets.

export CGO_ENABLED := 0
export GOFLAGS := -buildvcs=false

# The integration suite runs against this PostgreSQL server (each test in a
# schema of its own) as well as against SQLite.
TEST_DATABASE_URL ?= postgres://root@127.0.0.1:5432/test?sslmode=disable
export TEST_DATABASE_URL

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: generate
generate: ## Regenerate generated/ from openapi.yaml
	go generate ./...

.PHONY: verify
verify: generate ## Fail if generated code, go.mod or formatting drift from what is committed
	@git diff --exit-code --stat -- generated/ || { echo "generated/ is stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- generated/)" || { git status --porcelain -- generated/; echo "generated/ has uncommitted files"; exit 1; }
	go mod tidy -diff
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt would change the files above"; exit 1; }
	go vet ./...

.PHONY: build
build: ## Build bin/zest-api
	go build -o bin/zest-api ./cmd/zest-api

.PHONY: run
run: build ## Serve on the embedded SQLite database (./zest.db), with a demo tenant on first run
	DATABASE_URL= ./bin/zest-api serve --demo

.PHONY: test
test: ## Vet, then run every test, against SQLite and PostgreSQL (TEST_DATABASE_URL)
	go vet ./...
	go test -count=1 -timeout 10m ./...
