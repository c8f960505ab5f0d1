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
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

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

# The API reference at /docs runs Swagger UI from these files of the
# swagger-ui-dist npm package, vendored into internal/apidocs/swagger-ui/ (the bundle
# names its third-party licenses in swagger-ui-bundle.js.LICENSE.txt).
SWAGGER_UI_VERSION := 5.35.0
SWAGGER_UI_FILES := swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE

.PHONY: docs-assets
docs-assets: ## Vendor swagger-ui-dist (SWAGGER_UI_VERSION) from npm into internal/apidocs/swagger-ui/
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	npm pack --silent --pack-destination "$$tmp" swagger-ui-dist@$(SWAGGER_UI_VERSION) >/dev/null && \
	tar -xzf "$$tmp/swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz" -C "$$tmp" && \
	rm -rf internal/apidocs/swagger-ui && mkdir -p internal/apidocs/swagger-ui && \
	for f in $(SWAGGER_UI_FILES); do cp "$$tmp/package/$$f" internal/apidocs/swagger-ui/ || exit 1; done
	@echo "internal/apidocs/swagger-ui/: swagger-ui-dist $(SWAGGER_UI_VERSION)"

.PHONY: build
build: ## Build bin/zest-api
	go build -o bin/zest-api ./cmd/zest-api

.PHONY: run
run: build ## Serve on the embedded SQLite database (./zest.db), with a demo tenant on first run
	DATABASE_URL= ./bin/zest-api serve --demo

.PHONY: test
test: ## Vet, then run every test, against SQLite and PostgreSQL (TEST_DATABASE_URL); say which suites ran or skipped
	go vet ./...
	go test -count=1 -timeout 10m ./... || { go run ./internal/testenv/report; exit 1; }
	@go run ./internal/testenv/report

.PHONY: test-long
test-long: ## make test with the long tests at full size (ZEST_TEST_LONG=1), such as a 100 000-row import
	ZEST_TEST_LONG=1 $(MAKE) --no-print-directory test

.PHONY: test-pgbouncer
test-pgbouncer: ## Run the PostgreSQL component tests through a private PgBouncer in transaction pooling mode
	.ci/test-pgbouncer

.PHONY: lint
lint: ## Lint openapi.yaml with Spectral (spectral:oas) and Redocly (recommended): no error, no warning
	cd api/lint && npm ci --silent --no-audit --no-fund
	api/lint/node_modules/.bin/spectral lint openapi.yaml --ruleset api/lint/.spectral.yaml --fail-severity=hint
	@out=$$(REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true api/lint/node_modules/.bin/redocly lint openapi.yaml --config api/lint/redocly.yaml --format=stylish 2>&1); \
	status=$$?; echo "$$out" | grep -v '[═║]'; \
	test $$status -eq 0 || exit 1; \
	if echo "$$out" | grep -q ' warning '; then echo "Redocly warnings fail the lint"; exit 1; fi

# The last published contract, and the oasdiff levels raised for it. allOf
# schemas are compared merged, as clients see them (Problem is
# ProblemDetails and Zest's members), not branch by branch.
RELEASED_SPEC := api/released/openapi.yaml
OASDIFF := go run github.com/oasdiff/oasdiff
OASDIFF_FLAGS := --severity-levels api/oasdiff-levels.txt --flatten-allof

.PHONY: breaking
breaking: ## Fail if openapi.yaml breaks clients of the published contract (api/released/openapi.yaml)
	$(OASDIFF) breaking $(RELEASED_SPEC) openapi.yaml --fail-on ERR $(OASDIFF_FLAGS)
	go test -tags breaking -count=1 -run '^TestBreakingChangesAreCaught$$' ./api/

.PHONY: changelog
changelog: ## Print the changes of openapi.yaml since the published contract
	$(OASDIFF) changelog $(RELEASED_SPEC) openapi.yaml $(OASDIFF_FLAGS)

.PHONY: ts-check
ts-check: build ## Generate a TypeScript client from openapi.yaml (openapi-typescript) and run it against a live server
	clients/typescript/check.sh bin/zest-api

.PHONY: ogen-check
ogen-check: build ## Generate a Go client from openapi.yaml with ogen (its defaults, no warning) and run it against a live server
	clients/ogen/check.sh bin/zest-api

.PHONY: walkthrough
walkthrough: build ## Run the README's Walkthrough as written against a fresh `serve --demo`; every answer must be 2xx
	docs/walkthrough/run.sh bin/zest-api

.PHONY: bench
bench: build ## Measure the import path against raw PostgreSQL and print the table (BENCH_DATABASE_URL, BENCH_FLAGS)
	go run ./cmd/zest-bench -bin bin/zest-api $(BENCH_FLAGS)
