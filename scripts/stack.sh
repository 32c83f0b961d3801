#!/usr/bin/env bash
# stack.sh up|down|status|infra|stop NAME...|running — the whole local system.
#
#   up       prerequisites, a check that no port it needs is taken (one error
#            naming the port and its variable; addresses and ports are set in
#            lib.sh), PostgreSQL, search engine, JWT keys, builds the Go
#            binaries and the web UI, starts every service that is not running,
#            waits for each /readyz, writes .run/stack.env, prints the URLs.
#            Idempotent: it starts only what is not running (so it also brings
#            back anything that died). A service whose configuration changed is
#            restarted; one whose binary was rebuilt only with RESTART_STALE=1.
#   infra    PostgreSQL and the search engine only (what the tests need), after
#            the same port check.
#   down     stops everything we started, services first, PostgreSQL last.
#   status   one line per component.
#   stop     stops the named components (postgres, search, command-api, ...).
#   running  prints the names of the components running now.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCRIPTS="$ROOT/scripts"
BIN_DIR="$RUN_DIR/bin"
KEY_DIR="$RUN_DIR/keys"
PRIVATE_KEY="$KEY_DIR/jwt-ed25519.pem"
PUBLIC_KEY="$KEY_DIR/jwt-ed25519.pub.pem"
STACK_ENV="$RUN_DIR/stack.env"
READY_TIMEOUT="${READY_TIMEOUT:-90}"

# Start order; down runs it backwards.
SERVICES=(provider-sim webhook-receiver command-api query-api projector processor web)

# Variables stack.sh sets per service; removed from what services inherit.
MANAGED_VARS=(DATABASE_URL SEARCH_URL COMMAND_API_ADDR QUERY_API_ADDR PROJECTOR_ADDR WEB_ADDR
	PROCESSOR_ADDR SIM_ADDR RECEIVER_ADDR COMMAND_API_URL PROVIDER_URL SIM_LEDGER_FILE WEB_DIST COMMAND_API QUERY_API JWT_PRIVATE_KEY_FILE JWT_PUBLIC_KEY_FILE)

usage() {
	awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0" >&2
	exit 2
}

# service_addr_var NAME: the variable holding the service's listen address
# (its default is in lib.sh).
service_addr_var() {
	case $1 in
	command-api) echo COMMAND_API_ADDR ;;
	query-api) echo QUERY_API_ADDR ;;
	projector) echo PROJECTOR_ADDR ;;
	processor) echo PROCESSOR_ADDR ;;
	provider-sim) echo SIM_ADDR ;;
	webhook-receiver) echo RECEIVER_ADDR ;;
	web) echo WEB_ADDR ;;
	*) return 1 ;;
	esac
}

service_addr() {
	local var
	var=$(service_addr_var "$1") || return 1
	echo "${!var}"
}

service_url() { echo "http://$(service_addr "$1")"; }

# service_env NAME: the environment the service is started with, one
# NAME=value per line (its Config in cmd/NAME/config.go reads these).
service_env() {
	case $1 in
	command-api)
		echo "DATABASE_URL=$DATABASE_URL"
		echo "COMMAND_API_ADDR=$COMMAND_API_ADDR"
		echo "JWT_PRIVATE_KEY_FILE=$PRIVATE_KEY"
		# the web server's reverse proxy connects from loopback (any local
		# process can then name its address; they all share this machine)
		echo "TRUSTED_PROXIES=127.0.0.1,::1"
		# the local stack's webhooks go to receivers on this machine
		echo "WEBHOOK_ALLOW_PRIVATE=true"
		;;
	query-api)
		echo "SEARCH_URL=$SEARCH_URL"
		echo "QUERY_API_ADDR=$QUERY_API_ADDR"
		echo "JWT_PUBLIC_KEY_FILE=$PUBLIC_KEY"
		echo "COMMAND_API_URL=$(service_url command-api)"
		;;
	projector)
		echo "DATABASE_URL=$DATABASE_URL"
		echo "SEARCH_URL=$SEARCH_URL"
		echo "PROJECTOR_ADDR=$PROJECTOR_ADDR"
		;;
	processor)
		echo "DATABASE_URL=$DATABASE_URL"
		echo "PROCESSOR_ADDR=$PROCESSOR_ADDR"
		echo "PROVIDER_URL=$(service_url provider-sim)"
		echo "WEBHOOK_ALLOW_PRIVATE=true"
		;;
	webhook-receiver)
		echo "RECEIVER_ADDR=$RECEIVER_ADDR"
		;;
	provider-sim)
		echo "SIM_ADDR=$SIM_ADDR"
		echo "SIM_LEDGER_FILE=$RUN_DIR/provider-sim/ledger.jsonl"
		;;
	web)
		echo "WEB_ADDR=$WEB_ADDR"
		echo "WEB_DIST=$ROOT/web/dist"
		echo "COMMAND_API=$(service_url command-api)"
		echo "QUERY_API=$(service_url query-api)"
		;;
	esac
}

# has_cmd NAME: true if cmd/NAME holds Go code.
has_cmd() { compgen -G "$ROOT/cmd/$1/*.go" >/dev/null; }

service_alive() { pidfile_alive "$RUN_DIR/$1.pid" "$BIN_DIR/$1"; }

lock() {
	ensure_run_dirs
	exec 9>"$RUN_DIR/stack.lock"
	flock -w 900 9 || die "another stack.sh holds .run/stack.lock"
}

# check_stack_ports WHAT: before anything starts, one message for every port
# that `WHAT` (infra or up) needs and something else already listens on.
check_stack_ports() {
	local name var addr
	if [[ $1 == up ]]; then
		for name in "${SERVICES[@]}"; do check_listen_addr "$(service_addr_var "$name")"; done
	fi
	{
		"$SCRIPTS/postgres.sh" ports
		"$SCRIPTS/search.sh" ports
		if [[ $1 == up ]]; then
			for name in "${SERVICES[@]}"; do
				has_cmd "$name" || continue
				var=$(service_addr_var "$name")
				addr=${!var}
				echo "${addr%:*} ${addr##*:} $var $name"
			done
		fi
	} | check_ports
}

# The lock's descriptor (9) is closed for everything we start: a daemon that
# inherited it would hold the lock for as long as it runs.
start_infra() {
	"$SCRIPTS/postgres.sh" start 9>&-
	"$SCRIPTS/search.sh" start 9>&-
	DATABASE_URL=$("$SCRIPTS/postgres.sh" url)
	SEARCH_URL=$("$SCRIPTS/search.sh" url)
	export DATABASE_URL SEARCH_URL
}

ensure_keys() {
	mkdir -p "$KEY_DIR"
	chmod 0700 "$KEY_DIR"
	if [[ ! -s $PRIVATE_KEY ]]; then
		log "generating the Ed25519 JWT signing key (.run/keys/jwt-ed25519.pem)"
		(umask 077 && openssl genpkey -algorithm ed25519 -out "$PRIVATE_KEY.tmp")
		mv "$PRIVATE_KEY.tmp" "$PRIVATE_KEY"
		rm -f "$PUBLIC_KEY"
	fi
	if [[ ! -s $PUBLIC_KEY ]]; then
		openssl pkey -in "$PRIVATE_KEY" -pubout -out "$PUBLIC_KEY"
		chmod 0644 "$PUBLIC_KEY"
	fi
}

build_go() {
	if ! compgen -G "$ROOT/cmd/*/*.go" >/dev/null; then
		log "no cmd/*/ packages yet: nothing to build"
		return 0
	fi
	log "go build -o .run/bin/ ./cmd/..."
	mkdir -p "$BIN_DIR"
	go build -o "$BIN_DIR/" ./cmd/... || die "go build failed"
}

build_web() {
	local web="$ROOT/web"
	if [[ ! -f $web/package.json ]]; then
		log "no web/package.json yet: skipping the web UI build"
		return 0
	fi
	ensure_web_deps || die "npm ci failed in web/"
	if [[ -f $web/dist/index.html ]] &&
		[[ -z "$(find "$web" \( -path "$web/node_modules" -o -path "$web/dist" -o -path "$web/e2e" \
			-o -path "$web/test-results" -o -path "$web/playwright-report" \) -prune -o \
			-type f -newer "$web/dist/index.html" -print -quit)" ]]; then
		log "web: dist is up to date"
		return 0
	fi
	log "web: npm run build"
	(cd "$web" && npm run build --silent) || die "the web UI build failed (npm run build in web/)"
}

# wait_ready NAME [fresh]: waits until the service answers 200 on /readyz. A
# fresh start that never gets ready is stopped, so the next `up` starts it anew.
wait_ready() {
	local name=$1 fresh=${2:-} url deadline=$((SECONDS + READY_TIMEOUT)) code=000
	url="$(service_url "$name")/readyz"
	while ((SECONDS < deadline)); do
		if ! service_alive "$name"; then
			log_tail "$LOG_DIR/$name.log"
			die "$name exited during start-up"
		fi
		code=$(http_code "$url")
		[[ $code == 200 ]] && return 0
		sleep 0.5
	done
	log_tail "$LOG_DIR/$name.log"
	[[ $fresh == fresh ]] && stop_pidfile "$name" "$RUN_DIR/$name.pid"
	die "$name is not ready after ${READY_TIMEOUT}s ($url answered $code)"
}

start_service() {
	local name=$1 bin="$BIN_DIR/$1" pidf="$RUN_DIR/$1.pid" envf="$RUN_DIR/$1.env" logf="$LOG_DIR/$1.log"
	local env_now
	env_now=$(service_env "$name")
	if service_alive "$name"; then
		if [[ "$(cat "$envf" 2>/dev/null)" != "$env_now" ]]; then
			log "$name: its configuration changed (an address, a port or SEARCH_URL): restarting it"
			stop_pidfile "$name" "$pidf"
		else
			if [[ "$(sha256sum <"$bin")" == "$(cat "$RUN_DIR/$name.build" 2>/dev/null)" ]]; then
				log "$name: already running (pid $(cat "$pidf"))"
				wait_ready "$name"
				return 0
			fi
			if [[ ${RESTART_STALE:-0} != 1 ]]; then
				warn "$name runs an older build; 'RESTART_STALE=1 make up' (or 'scripts/stack.sh stop $name && make up') runs the new one"
				log "$name: already running (pid $(cat "$pidf"))"
				wait_ready "$name"
				return 0
			fi
			log "$name: runs an older build: restarting it (RESTART_STALE=1)"
			stop_pidfile "$name" "$pidf"
		fi
	fi
	rm -f "$pidf"
	[[ -x $bin ]] || die "$bin is missing (go build did not produce it)"
	[[ -f $logf ]] && mv -f "$logf" "$logf.1"
	private_file "$logf"
	local -a envs
	local var
	mapfile -t envs <<<"$env_now"
	log "$name: starting on $(service_addr "$name") (log: .run/logs/$name.log)"
	# Inherit the caller's environment (extra settings such as a token TTL pass
	# through) minus the variables we manage, so each service gets only its own.
	local -a unset_args=()
	for var in "${MANAGED_VARS[@]}"; do unset_args+=(-u "$var"); done
	env "${unset_args[@]}" "${envs[@]}" setsid nohup "$bin" </dev/null >>"$logf" 2>&1 9>&- &
	echo $! >"$pidf"
	private_file "$envf"
	echo "$env_now" >"$envf"
	sha256sum <"$bin" >"$RUN_DIR/$name.build"
	wait_ready "$name" fresh
	log "$name: ready"
}

write_stack_env() {
	private_file "$STACK_ENV.tmp"
	cat >"$STACK_ENV.tmp" <<EOF
# Written by scripts/stack.sh. Use: source .run/stack.env
export DATABASE_URL='$DATABASE_URL'
export SEARCH_URL='$SEARCH_URL'
export COMMAND_API=$(service_url command-api)
export QUERY_API=$(service_url query-api)
export WEB_URL=$(service_url web)
export PROJECTOR_URL=$(service_url projector)
export PROCESSOR_URL=$(service_url processor)
export PROVIDER_URL=$(service_url provider-sim)
export WEBHOOK_RECEIVER=$(service_url webhook-receiver)
export JWT_PUBLIC_KEY_FILE='$PUBLIC_KEY'
EOF
	mv "$STACK_ENV.tmp" "$STACK_ENV"
}

cmd_infra() {
	lock
	"$SCRIPTS/prereqs.sh"
	check_stack_ports infra
	start_infra
	write_stack_env
	echo "DATABASE_URL=$DATABASE_URL"
	echo "SEARCH_URL=$SEARCH_URL"
}

cmd_up() {
	lock
	"$SCRIPTS/prereqs.sh"
	check_stack_ports up
	start_infra
	ensure_keys
	mkdir -p "$RUN_DIR/provider-sim" # the simulator's ledger survives its restarts
	build_go
	build_web
	local name started=() skipped=()
	for name in "${SERVICES[@]}"; do
		if has_cmd "$name"; then
			start_service "$name"
			started+=("$name")
		else
			log "NOTICE: cmd/$name does not exist yet: not started"
			skipped+=("$name")
		fi
	done
	write_stack_env
	{
		echo
		echo "Wildcat Payments is up."
		for name in "${SERVICES[@]}"; do
			if service_alive "$name"; then
				printf '  %-12s %s\n' "$name" "$(service_url "$name")"
			fi
		done
		printf '  %-12s %s\n' postgres "$DATABASE_URL" search "$SEARCH_URL"
		((${#skipped[@]} == 0)) || printf '  not built yet: %s\n' "${skipped[*]}"
		echo "  environment: source .run/stack.env    logs: .run/logs/ (make logs)    stop: make down"
	}
}

# stop_component NAME stops one component by name.
stop_component() {
	case $1 in
	postgres) "$SCRIPTS/postgres.sh" stop 9>&- ;;
	search) "$SCRIPTS/search.sh" stop 9>&- ;;
	*)
		stop_pidfile "$1" "$RUN_DIR/$1.pid"
		rm -f "$RUN_DIR/$1.env" "$RUN_DIR/$1.build"
		;;
	esac
}

cmd_down() {
	lock
	local i name f
	for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
		stop_component "${SERVICES[i]}"
	done
	# Anything else we started that left a pid file (a service renamed since).
	for f in "$RUN_DIR"/*.pid; do
		[[ -e $f ]] || continue
		name=$(basename "$f" .pid)
		case $name in postgres | search) continue ;; esac
		stop_component "$name"
	done
	stop_component search
	stop_component postgres
	rm -f "$STACK_ENV"
	log "everything stopped"
}

cmd_stop() {
	(($#)) || die "usage: $0 stop NAME... (postgres, search, ${SERVICES[*]})"
	lock
	local name
	for name in "$@"; do stop_component "$name"; done
}

cmd_running() {
	local name
	"$SCRIPTS/postgres.sh" status >/dev/null 2>&1 && echo postgres
	pidfile_alive "$RUN_DIR/search.pid" OpenSearchRunner && echo search
	for name in "${SERVICES[@]}"; do
		service_alive "$name" && echo "$name"
	done
	return 0
}

cmd_status() {
	local name code
	"$SCRIPTS/postgres.sh" status || true
	"$SCRIPTS/search.sh" status || true
	for name in "${SERVICES[@]}"; do
		if service_alive "$name"; then
			code=$(http_code "$(service_url "$name")/readyz")
			echo "$name: running (pid $(cat "$RUN_DIR/$name.pid")) $(service_url "$name") readyz=$code"
		elif has_cmd "$name"; then
			echo "$name: stopped"
		else
			echo "$name: not built yet (no cmd/$name)"
		fi
	done
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
infra) cmd_infra ;;
status) cmd_status ;;
stop)
	shift
	cmd_stop "$@"
	;;
running) cmd_running ;;
*) usage ;;
esac
