#!/usr/bin/env bash
# prereqs.sh — checks that this machine has what the local stack and the tests
# need. Prints one message listing everything missing and how to install it,
# then exits 1. Prints nothing and exits 0 when all is there (unless -v).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

verbose=0
[[ ${1:-} == -v ]] && verbose=1

missing=()
found=()

major() { sed -E 's/[^0-9]*([0-9]+).*/\1/' <<<"$1"; }

if command -v go >/dev/null; then
	found+=("go: $(go env GOVERSION 2>/dev/null || echo '?')")
else
	missing+=("Go 1.26+          https://go.dev/dl/ (put 'go' on PATH)")
fi

if command -v java >/dev/null; then
	jout=$(java -version 2>&1 || true)
	jv=$(awk -F'"' '/version/ && !v {v=$2} END {print v}' <<<"$jout")
	jmaj=$(major "${jv:-0}")
	[[ ${jv:-} == 1.* ]] && jmaj=$(cut -d. -f2 <<<"$jv")
	if ((jmaj >= 17)); then
		found+=("java: $jv")
	else
		missing+=("Java 17+ (found ${jv:-unknown})   apt-get install openjdk-17-jdk-headless")
	fi
else
	missing+=("Java 17+          apt-get install openjdk-17-jdk-headless")
fi

if command -v mvn >/dev/null; then
	mout=$(mvn -B -v 2>/dev/null || true)
	found+=("mvn: $(awk 'NR == 1 {print $3}' <<<"$mout")")
else
	missing+=("Maven             apt-get install maven")
fi

if pgdir=$(pg_bin_dir); then
	found+=("postgres server: $pgdir")
	if ! command -v psql >/dev/null && [[ ! -x $pgdir/psql ]]; then
		missing+=("psql              apt-get install postgresql-client-15")
	fi
else
	missing+=("PostgreSQL server binaries (initdb, pg_ctl, postgres)   apt-get install postgresql-15")
fi

if command -v node >/dev/null; then
	nv=$(node --version)
	if (($(major "$nv") >= 20)); then
		found+=("node: $nv")
	else
		missing+=("Node.js 20+ (found $nv)   https://nodejs.org/ or apt-get install nodejs")
	fi
else
	missing+=("Node.js 20+       https://nodejs.org/ or apt-get install nodejs npm")
fi
if command -v npm >/dev/null; then
	found+=("npm: $(npm --version 2>/dev/null)")
else
	missing+=("npm               comes with Node.js (apt-get install npm)")
fi

for tool in curl openssl; do
	if command -v "$tool" >/dev/null; then
		found+=("$tool: ok")
	else
		missing+=("$tool$(printf '%*s' $((18 - ${#tool})) '')apt-get install $tool")
	fi
done

if ((verbose)); then
	printf '  %s\n' "${found[@]}" >&2
fi

if ((${#missing[@]})); then
	{
		echo
		echo "Wildcat Payments: this machine lacks what the local stack needs:"
		echo
		printf '  - %s\n' "${missing[@]}"
		echo
		echo "On Debian/Ubuntu, as root: apt-get update && apt-get install -y <packages above>"
		echo "(.ci/run installs the Debian packages automatically.) Then run the command again."
		echo
	} >&2
	exit 1
fi
