#!/usr/bin/env bash
# bench.sh — `make bench`: bring the local stack up if needed (running the
# current build), then run the load harness (cmd/bench) against it on
# 127.0.0.1. It prints a table and writes the figures to .run/bench.json.
#
# Tunables (environment): BENCH_DURATION (per scenario, default 15s),
# BENCH_CLIENTS (64), BENCH_BATCH_CLIENTS (4), BENCH_SEARCH_CLIENTS (16),
# BENCH_SEED_PAYMENTS (1000000), BENCH_FRESHNESS_RATES (1000,2000,4000),
# BENCH_SCENARIOS (single,batch,freshness,sustained,backfill,catchup,search,memory,
# processing,apikey,webhooks), BENCH_CATCHUP_PAYMENTS (300000),
# BENCH_SUSTAINED_RATE (10000), BENCH_SUSTAINED_SECONDS (60),
# BENCH_WEBHOOK_EVENTS (20000), BENCH_WEBHOOK_ENDPOINTS (5).
#
# BENCH_SCENARIOS=scale (not in the default list: it grows the payments
# table and takes long) measures at each of BENCH_SCALE_SIZES
# (1000000,5000000,10000000) and draws SVG charts into BENCH_CHARTS_DIR
# (docs/bench). BENCH_CHARTS_ONLY=1 redraws them from BENCH_OUT without the
# stack and measures nothing.
#
# The stack's processor and provider simulator are stopped while the bench
# runs: the ingestion scenarios measure writing (with the enqueue) alone, and
# the processing scenario runs its own simulator and processor with each
# phase's provider latency. They are started again at the end, and the
# webhooks scenario, which measures the stack's own processor delivering to
# its webhook receiver, runs then (its figures in .run/bench-webhooks.json).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ ${BENCH_CHARTS_ONLY:-} == 1 ]]; then
	go build -o "$RUN_DIR/bin/bench" ./cmd/bench
	exec "$RUN_DIR/bin/bench"
fi

RESTART_STALE=1 "$ROOT/scripts/stack.sh" up
# shellcheck source=/dev/null
source "$RUN_DIR/stack.env"
export DATABASE_URL SEARCH_URL COMMAND_API QUERY_API PROJECTOR_URL WEBHOOK_RECEIVER
go build -o "$RUN_DIR/bin/bench" ./cmd/bench

scenarios=${BENCH_SCENARIOS:-single,batch,freshness,sustained,backfill,catchup,search,memory,processing,apikey,webhooks}
quiet=() live=()
IFS=, read -ra names <<<"$scenarios"
for name in "${names[@]}"; do
	if [[ $name == webhooks ]]; then live+=("$name"); else quiet+=("$name"); fi
done

status=0
if ((${#quiet[@]})); then
	"$ROOT/scripts/stack.sh" stop processor provider-sim
	BENCH_SCENARIOS=$(IFS=,; echo "${quiet[*]}") "$RUN_DIR/bin/bench" || status=$?
	"$ROOT/scripts/stack.sh" up >/dev/null
fi
if ((${#live[@]})) && ((status == 0)); then
	BENCH_SCENARIOS=webhooks BENCH_OUT="$RUN_DIR/bench-webhooks.json" "$RUN_DIR/bin/bench" || status=$?
fi
exit "$status"
