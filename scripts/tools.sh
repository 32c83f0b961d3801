#!/usr/bin/env bash
# tools.sh helm|promtool — makes sure a deployment tool the tests need is
# installed and prints its path on stdout (progress goes to stderr).
#
#   helm      Helm v4 at HELM_VERSION, built from the Go module proxy into
#             .run/tools/helm (`go install`, checksums from the Go checksum
#             database); rebuilt when the pinned version changes. The first
#             build takes a few minutes on 2 cores, later runs reuse it.
#   promtool  Prometheus's promtool (`promtool check rules`, `promtool test
#             rules`) from Debian's `prometheus` package: installed with
#             apt-get when missing and we run as root (.ci/run does too),
#             otherwise it names the package to install.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# HELM_VERSION is the helm.sh/helm/v4 module version built for `make test`.
HELM_VERSION=v4.3.2
TOOLS_DIR="$RUN_DIR/tools"

ensure_helm() {
	local bin="$TOOLS_DIR/helm" stamp="$TOOLS_DIR/helm.version"
	if [[ -x $bin && -s $stamp && $(<"$stamp") == "$HELM_VERSION" ]]; then
		echo "$bin"
		return 0
	fi
	mkdir -p "$TOOLS_DIR"
	log "building helm $HELM_VERSION into ${TOOLS_DIR#"$ROOT"/} (first time only; a few minutes)"
	rm -f "$stamp"
	GOBIN="$TOOLS_DIR" CGO_ENABLED=0 go install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >&2
	echo "$HELM_VERSION" >"$stamp"
	echo "$bin"
}

ensure_promtool() {
	if command -v promtool >/dev/null; then
		command -v promtool
		return 0
	fi
	if ! is_root; then
		die "promtool is missing: apt-get install prometheus (Debian; it ships /usr/bin/promtool)"
	fi
	log "installing Debian's prometheus package for promtool"
	export DEBIAN_FRONTEND=noninteractive
	# The package's service is not started (no init system here) and is not used.
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends prometheus >/dev/null
	command -v promtool
}

case ${1:-} in
helm) ensure_helm ;;
promtool) ensure_promtool ;;
*)
	echo "usage: $0 helm|promtool" >&2
	exit 2
	;;
esac
