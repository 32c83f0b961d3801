#!/usr/bin/env bash
# test.sh [all|lint|deploy|go|web|e2e] — every test of the project (`make test`).
#
#   all   lint, deploy, go, web and e2e, in that order.
#   lint  the static checks, each failing on any finding (`make lint`): gofmt,
#         go vet, staticcheck (version pinned in tools/go.mod, built by `go
#         tool`), shellcheck of scripts/*.sh and .ci/run, and in web/ eslint
#         (npm run lint) and tsc (npm run typecheck).
#   deploy  the deployment artifacts: helm lint and helm template of
#         deploy/helm/wildcat (helm v4 built by scripts/tools.sh), promtool
#         check rules and promtool test rules of deploy/prometheus (Debian's
#         prometheus package, installed by scripts/tools.sh when missing).
#   go    go test -race of every package (internal/deploytest renders the
#         chart with the same helm, built first when missing). Integration tests use
#         TEST_DATABASE_URL / TEST_SEARCH_URL; when those are not given, the
#         project's own PostgreSQL and OpenSearch are started (stack.sh infra)
#         and WILDCAT_REQUIRE_INTEGRATION=1 makes a missing one fail, not skip.
#   web   npm ci (when needed), unit tests of web/.
#   e2e   brings the whole stack up (stack.sh up) and runs `npm run e2e` in a
#         headless Chromium against it.
#
# Whatever this script started is stopped at the end; what was already running
# is left running. Every step runs even after a failure; a summary closes the
# output and the exit status is non-zero if any step failed.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCRIPTS="$ROOT/scripts"
WEB="$ROOT/web"
what=${1:-all}
case $what in all | lint | deploy | go | web | e2e) ;; *)
	echo "usage: $0 [all|lint|deploy|go|web|e2e]" >&2
	exit 2
	;;
esac

results=()
failed=0

# step NAME CMD...: runs CMD, records PASS/FAIL, never aborts the script.
step() {
	local name=$1 start=$SECONDS rc=0
	shift
	printf '\n==> %s\n' "$name"
	"$@" || rc=$?
	if ((rc == 0)); then
		results+=("PASS  $name ($((SECONDS - start))s)")
	else
		results+=("FAIL  $name (exit $rc, $((SECONDS - start))s)")
		failed=$((failed + 1))
	fi
	return 0
}

skip() { results+=("SKIP  $1: $2"); printf '\n==> %s: skipped (%s)\n' "$1" "$2"; }

# Components running before we touch anything: these stay up afterwards.
ensure_run_dirs
before=""
[[ $what == lint || $what == deploy ]] || before=$("$SCRIPTS/stack.sh" running)

cleanup() {
	local rc=$? now name to_stop=()
	now=$("$SCRIPTS/stack.sh" running 2>/dev/null || true)
	# Stop in reverse start order (`stack.sh running` lists postgres, search,
	# then the services as they start): services, then search, then postgres.
	while read -r name; do
		if [[ -n $name ]] && ! grep -qx "$name" <<<"$before"; then
			to_stop+=("$name")
		fi
	done < <(tac <<<"$now")
	if ((${#to_stop[@]})); then
		printf '\n==> stopping what this run started: %s\n' "${to_stop[*]}"
		"$SCRIPTS/stack.sh" stop "${to_stop[@]}" || true
	fi
	exit "$rc"
}
# lint starts nothing, so it stops nothing either (not even what someone else
# started meanwhile).
[[ $what == lint || $what == deploy ]] || trap cleanup EXIT
trap 'exit 130' INT TERM

infra() {
	if [[ -n ${TEST_DATABASE_URL:-} && -n ${TEST_SEARCH_URL:-} ]]; then
		echo "using TEST_DATABASE_URL and TEST_SEARCH_URL from the environment"
		return 0
	fi
	"$SCRIPTS/stack.sh" infra >/dev/null || return 1
	: "${TEST_DATABASE_URL:=$("$SCRIPTS/postgres.sh" admin-url)}"
	: "${TEST_SEARCH_URL:=$("$SCRIPTS/search.sh" url)}"
	export TEST_DATABASE_URL TEST_SEARCH_URL
	echo "TEST_DATABASE_URL=$TEST_DATABASE_URL"
	echo "TEST_SEARCH_URL=$TEST_SEARCH_URL"
}

go_tests() {
	export WILDCAT_REQUIRE_INTEGRATION=1
	step "infra (PostgreSQL + search engine)" infra
	[[ -n ${WILDCAT_HELM:-} ]] || step "tools: helm (scripts/tools.sh)" ensure_helm
	# shellcheck disable=SC2086 # GO_TEST_FLAGS is a list of flags
	step "go test -race ./..." go test -race -count=1 ${GO_TEST_FLAGS:-} ./...
}

# ensure_helm sets WILDCAT_HELM to the helm scripts/tools.sh builds (the
# chart checks and internal/deploytest use it).
ensure_helm() {
	WILDCAT_HELM=$("$SCRIPTS/tools.sh" helm) || return 1
	export WILDCAT_HELM
}

ensure_promtool() { PROMTOOL=$("$SCRIPTS/tools.sh" promtool); }

CHART="deploy/helm/wildcat"
CHART_VALUES="$CHART/ci/test-values.yaml"

# deploy_checks: the chart and the alert rules, one step each.
deploy_checks() {
	step "tools: helm (scripts/tools.sh)" ensure_helm
	if [[ -n ${WILDCAT_HELM:-} ]]; then
		step "deploy: helm lint $CHART" "$WILDCAT_HELM" lint --strict "$CHART" -f "$CHART_VALUES"
		step "deploy: helm template $CHART" helm_template
	else
		skip "deploy: helm lint, helm template" "helm could not be built"
	fi
	step "tools: promtool (scripts/tools.sh)" ensure_promtool
	if [[ -n ${PROMTOOL:-} ]]; then
		step "deploy: promtool check rules" "$PROMTOOL" check rules deploy/prometheus/alerts.yml
		step "deploy: promtool test rules" "$PROMTOOL" test rules deploy/prometheus/alerts_test.yml
	else
		skip "deploy: promtool" "promtool could not be installed"
	fi
}

# helm_template renders the chart with the test values and with every
# optional part on (internal/deploytest checks what it renders).
helm_template() {
	"$WILDCAT_HELM" template wildcat "$CHART" -f "$CHART_VALUES" >/dev/null &&
		"$WILDCAT_HELM" template wildcat "$CHART" -f "$CHART_VALUES" \
			--set providerSim.enabled=true --set monitoring.prometheusRule.enabled=true >/dev/null
}

npm_run() { (cd "$WEB" && npm run --silent "$@"); }

# web_deps: the "web: npm ci" step, once per run (lint and web both need it).
web_deps_done=0
web_deps() {
	((web_deps_done)) && return 0
	web_deps_done=1
	step "web: npm ci" ensure_web_deps
}

# gofmt_check lists the Go files gofmt would change (all of them, tools/
# included; not .run/ or node_modules/) and fails if there is any.
gofmt_check() {
	local files=() out
	mapfile -d '' files < <(find . \( -path ./.git -o -path ./.run -o -name node_modules \) -prune -o \
		-type f -name '*.go' -print0)
	((${#files[@]})) || return 0
	out=$(gofmt -l "${files[@]}") || return 1
	if [[ -n $out ]]; then
		echo "not gofmt-formatted (gofmt -w FILE...):"
		echo "$out"
		return 1
	fi
}

# staticcheck: the version in tools/go.mod (go.sum pins its checksums); the
# first run downloads and builds it, later runs reuse Go's build cache.
staticcheck_check() { go tool -modfile="$ROOT/tools/go.mod" staticcheck ./...; }

shellcheck_check() {
	if ! command -v shellcheck >/dev/null; then
		echo "shellcheck is not installed: apt-get install shellcheck (.ci/run installs it)" >&2
		return 1
	fi
	shellcheck -x scripts/*.sh .ci/run
}

# lint: every static check, one step each. Any finding fails its step.
lint() {
	step "lint: gofmt" gofmt_check
	step "lint: go vet ./..." go vet ./...
	step "lint: staticcheck ./..." staticcheck_check
	step "lint: shellcheck scripts/*.sh .ci/run" shellcheck_check
	if [[ ! -f $WEB/package.json ]]; then
		skip "lint: web" "no web/package.json yet"
		return 0
	fi
	web_deps
	step "lint: web eslint (npm run lint)" npm_run lint
	step "lint: web tsc (npm run typecheck)" npm_run typecheck
}

web_tests() {
	if [[ ! -f $WEB/package.json ]]; then
		skip "web" "no web/package.json yet"
		return 0
	fi
	web_deps
	step "web: unit tests" npm_run test
}

ensure_chromium() {
	local b
	for b in chromium chromium-browser; do
		if command -v "$b" >/dev/null; then
			CHROMIUM_PATH=$(command -v "$b")
			export CHROMIUM_PATH
			return 0
		fi
	done
	if ! is_root; then
		echo "Chromium is needed for the e2e tests: sudo apt-get install -y chromium" >&2
		return 1
	fi
	echo "installing Debian chromium for the e2e tests"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null || return 1
	CHROMIUM_PATH=$(command -v chromium)
	export CHROMIUM_PATH
}

e2e_run() {
	# shellcheck source=/dev/null
	source "$RUN_DIR/stack.env"
	export CHROME_PATH="$CHROMIUM_PATH"
	echo "WEB_URL=$WEB_URL COMMAND_API=$COMMAND_API QUERY_API=$QUERY_API CHROMIUM_PATH=$CHROMIUM_PATH"
	npm_run e2e
}

e2e_tests() {
	if [[ ! -f $WEB/package.json ]] || ! grep -q '"e2e"' "$WEB/package.json"; then
		skip "e2e" "web/package.json has no e2e script yet"
		return 0
	fi
	if [[ ! -d $WEB/e2e ]]; then
		skip "e2e" "web/e2e/ does not exist yet"
		return 0
	fi
	local before_steps=$failed
	step "e2e: chromium" ensure_chromium
	# Test the code in the tree, not a service started earlier from an older build.
	step "e2e: stack up" env RESTART_STALE=1 "$SCRIPTS/stack.sh" up
	if ((failed > before_steps)); then
		skip "e2e: npm run e2e" "the steps above failed"
		return 0
	fi
	step "e2e: npm run e2e" e2e_run
}

start=$SECONDS
case $what in
all)
	lint
	deploy_checks
	go_tests
	web_tests
	e2e_tests
	;;
lint) lint ;;
deploy) deploy_checks ;;
go) go_tests ;;
web) web_tests ;;
e2e) e2e_tests ;;
esac

printf '\n==> summary (%ss)\n' "$((SECONDS - start))"
printf '  %s\n' "${results[@]}"
if ((failed)); then
	echo "summary: $failed step(s) FAILED"
	exit 1
fi
echo "summary: every step passed"
