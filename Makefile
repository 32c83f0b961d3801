# Wildcat Payments — developer entry points. The scripts under scripts/ do the
# work; see DEVELOPERS.md for the local stack.
SHELL := bash
.DEFAULT_GOAL := help

.PHONY: help up down status infra test test-go test-deploy test-web test-e2e lint build bench lighthouse logs

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

up: ## start the whole system (PostgreSQL, OpenSearch, services, web UI); idempotent
	@scripts/stack.sh up

down: ## stop everything `make up` started
	@scripts/stack.sh down

status: ## one line per component of the local stack
	@scripts/stack.sh status

infra: ## start only PostgreSQL and the search engine
	@scripts/stack.sh infra

test: ## every test: lint, chart and alert checks, Go unit + integration, web unit, e2e
	@scripts/test.sh all

test-go: ## Go unit and integration tests (starts the infra when needed)
	@scripts/test.sh go

test-deploy: ## the Helm chart (helm lint, helm template) and the alert rules (promtool check/test rules)
	@scripts/test.sh deploy

test-web: ## web unit tests
	@scripts/test.sh web

test-e2e: ## end-to-end browser tests against the running stack
	@scripts/test.sh e2e

lint: ## gofmt, go vet, staticcheck, shellcheck, web eslint + tsc (the lint steps of make test)
	@scripts/test.sh lint

build: ## build the Go binaries into .run/bin and the web UI into web/dist
	go build -o .run/bin/ ./cmd/...
	@if [[ -f web/package.json ]]; then \
	  source scripts/lib.sh && ensure_web_deps && cd web && npm run --silent build; fi

lighthouse: ## Lighthouse 12.2.3 (headless Debian Chromium) on the login, payments and detail pages of the running stack -> .run/lighthouse.json
	@cd web && node scripts/bundle-size.mjs && node scripts/lighthouse.mjs

bench: ## benchmarks (scripts/bench.sh)
	@if [[ -x scripts/bench.sh ]]; then scripts/bench.sh; \
	else echo "no benchmarks yet (scripts/bench.sh does not exist)"; fi

logs: ## last lines of every log under .run/logs (FOLLOW=1 to follow)
	@if ! compgen -G '.run/logs/*.log' >/dev/null; then echo "no logs yet (.run/logs/)"; exit 0; fi; \
	if [[ -n "$(FOLLOW)" ]]; then tail -n 20 -F .run/logs/*.log; else tail -n 20 .run/logs/*.log; fi
