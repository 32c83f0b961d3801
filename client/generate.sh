#!/usr/bin/env bash
# Regenerates client/commandapi and client/queryapi from the APIs' OpenAPI
# documents (downgraded to 3.0 for oapi-codegen, pinned in tools/go.mod).
# The same as `go generate ./client`; needs nothing but the go command.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./client/internal/gen "$@"
