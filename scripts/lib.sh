# shellcheck shell=bash
# Shared helpers for the local-stack scripts. Source it; do not run it.
#
# Everything the scripts create lives under $RUN_DIR (.run/ at the repository
# root, ignored by git): data, logs, pid files, built binaries, keys.

# ROOT is the repository root, whatever directory the caller ran from.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="$ROOT/.run"
LOG_DIR="$RUN_DIR/logs"
# The unprivileged OS user that owns the PostgreSQL cluster when we run as root.
SERVICE_USER="${WILDCAT_SERVICE_USER:-wildcat}"

cd "$ROOT" || exit 1

# Listen addresses and ports of the local stack: defined here and nowhere else
# in the scripts (the binaries' own defaults in cmd/*/config.go and
# docker-compose.yml use the same numbers). The variable named beside each
# overrides it. Loopback only: check_listen_addr refuses any address outside
# 127.0.0.0/8.
STACK_HOST=127.0.0.1
PG_DEFAULT_PORT=55432                                # PG_PORT (see pg_port)
SEARCH_PORT=${SEARCH_PORT:-9200}                     # SEARCH_PORT, the OpenSearch node's HTTP port
COMMAND_API_ADDR=${COMMAND_API_ADDR:-$STACK_HOST:8081} # COMMAND_API_ADDR
QUERY_API_ADDR=${QUERY_API_ADDR:-$STACK_HOST:8082}     # QUERY_API_ADDR
PROJECTOR_ADDR=${PROJECTOR_ADDR:-$STACK_HOST:8083}     # PROJECTOR_ADDR (health, metrics)
WEB_ADDR=${WEB_ADDR:-$STACK_HOST:8080}                 # WEB_ADDR (the UI, one origin for the browser)
PROCESSOR_ADDR=${PROCESSOR_ADDR:-$STACK_HOST:8084}     # PROCESSOR_ADDR (health, metrics)
SIM_ADDR=${SIM_ADDR:-$STACK_HOST:8090}                 # SIM_ADDR, the payment provider simulator
RECEIVER_ADDR=${RECEIVER_ADDR:-$STACK_HOST:8095}       # RECEIVER_ADDR, a webhook receiver for tests and benchmarks

_script_name="$(basename "$0" .sh)"

# log prints a progress line on stderr so that stdout stays clean for values
# (e.g. `postgres.sh url`).
log() { printf '[%s] %s\n' "$_script_name" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "$_script_name" "$*" >&2; }
die() {
	printf '[%s] ERROR: %s\n' "$_script_name" "$*" >&2
	exit 1
}

# ensure_run_dirs creates .run/ and .run/logs/, and makes the logs and the
# .env files already there private (see private_file).
ensure_run_dirs() {
	mkdir -p "$RUN_DIR" "$LOG_DIR"
	local f
	for f in "$LOG_DIR"/*.log "$LOG_DIR"/*.log.1 "$RUN_DIR"/*.env; do
		[[ -e $f ]] && chmod 0600 "$f"
	done
	return 0
}

# private_file FILE...: creates each FILE if missing and makes it readable
# and writable by its owner only (0600). Logs hold request details and the
# .env files URLs with passwords; other local users must not read them. The
# directories stay traversable: the unprivileged cluster owner writes its
# log in .run/logs.
private_file() {
	local f
	for f; do
		(umask 077 && : >>"$f")
		chmod 0600 "$f"
	done
}

# is_root reports whether we run with uid 0.
is_root() { [[ $EUID -eq 0 ]]; }

# proc_alive PID: true if PID exists and is not a zombie.
proc_alive() {
	local pid=$1 state
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	# The state follows the parenthesised command name, which may hold spaces.
	state=$(sed -E 's/.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null || true)
	[[ -n $state && $state != Z && $state != X ]]
}

# pidfile_alive FILE [PATTERN]: true if FILE holds the pid of a live process
# (and, with PATTERN, one whose command line contains PATTERN, so that a pid
# reused by an unrelated process after a reboot does not count).
pidfile_alive() {
	local file=$1 pattern=${2:-} pid
	[[ -s $file ]] || return 1
	pid=$(head -n1 "$file")
	proc_alive "$pid" || return 1
	if [[ -n $pattern ]]; then
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern" || return 1
	fi
}

# stop_pidfile NAME FILE: SIGTERM the process (its whole process group when it
# leads one, which is how we start everything), wait up to STOP_TIMEOUT
# seconds, then SIGKILL. Removes FILE.
stop_pidfile() {
	local name=$1 file=$2 pid target i timeout=${STOP_TIMEOUT:-15}
	if [[ ! -s $file ]]; then
		rm -f "$file"
		return 0
	fi
	pid=$(head -n1 "$file")
	if ! proc_alive "$pid"; then
		log "$name: not running (stale pid file removed)"
		rm -f "$file"
		return 0
	fi
	target=$pid
	# Signal the group only when the process leads it (we start everything
	# with setsid), never our own group.
	if [[ "$(ps -o pgid= -p "$pid" | tr -d ' ')" == "$pid" && "$pid" != "$(ps -o pgid= -p $$ | tr -d ' ')" ]]; then
		target=-$pid
	fi
	log "$name: stopping pid $pid"
	kill -TERM -- "$target" 2>/dev/null || true
	for ((i = 0; i < timeout * 5; i++)); do
		proc_alive "$pid" || break
		sleep 0.2
	done
	if proc_alive "$pid"; then
		warn "$name: still alive after ${timeout}s, sending SIGKILL"
		kill -KILL -- "$target" 2>/dev/null || true
		for ((i = 0; i < 25; i++)); do
			proc_alive "$pid" || break
			sleep 0.2
		done
	fi
	# Stragglers in the group (a forked child) go too.
	if [[ $target == -* ]]; then
		kill -KILL -- "$target" 2>/dev/null || true
	fi
	rm -f "$file"
	log "$name: stopped"
}

# http_code URL: prints the HTTP status code of a GET (000 when nothing answers).
http_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time "${HTTP_TIMEOUT:-5}" "$1" 2>/dev/null || true
}

# log_tail FILE [N]: prints the last N lines of a log, framed, on stderr.
log_tail() {
	local file=$1 n=${2:-40}
	{
		echo "----- last $n lines of ${file#"$ROOT"/} -----"
		tail -n "$n" "$file" 2>/dev/null || echo "(no log)"
		echo "-----"
	} >&2
}

# ensure_service_user creates the unprivileged system user (root only).
ensure_service_user() {
	is_root || return 0
	if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
		log "creating system user $SERVICE_USER"
		useradd --system --user-group --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$SERVICE_USER"
	fi
}

# as_service_user CMD...: runs CMD as $SERVICE_USER when we are root, else as us.
as_service_user() {
	if is_root; then
		runuser -u "$SERVICE_USER" -- "$@"
	else
		"$@"
	fi
}

# short_hash STRING: a short stable id, used to name per-checkout fallback dirs.
short_hash() { printf '%s' "$1" | sha256sum | cut -c1-10; }

# pg_bin_dir prints the directory holding initdb, pg_ctl and postgres: the one
# of initdb on PATH, else the newest /usr/lib/postgresql/*/bin. PG_BIN wins.
pg_bin_dir() {
	local initdb dir
	if [[ -n ${PG_BIN:-} ]]; then
		echo "$PG_BIN"
		return 0
	fi
	if initdb=$(command -v initdb 2>/dev/null); then
		dir=$(dirname "$(readlink -f "$initdb")")
		if [[ -x $dir/pg_ctl && -x $dir/postgres ]]; then
			echo "$dir"
			return 0
		fi
	fi
	while read -r dir; do
		if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]]; then
			echo "$dir"
			return 0
		fi
	done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r)
	return 1
}

# ensure_web_deps installs web/node_modules with `npm ci` when it is missing or
# older than web/package-lock.json (npm records each install in
# node_modules/.package-lock.json).
ensure_web_deps() {
	local web="$ROOT/web"
	[[ -f $web/package.json ]] || return 0
	if [[ ! -f $web/node_modules/.package-lock.json ||
		($web/package-lock.json -nt $web/node_modules/.package-lock.json) ]]; then
		log "web: npm ci"
		if [[ -f $web/package-lock.json ]]; then
			(cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
		else
			(cd "$web" && npm install --no-audit --no-fund --loglevel=error)
		fi
	fi
}

# ---- Ports -----------------------------------------------------------------

# valid_port VALUE: true if VALUE is a TCP port number (1-65535).
valid_port() { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= 65535)); }

# pg_port prints PostgreSQL's port: PG_PORT if set, else the one the cluster
# was last started with (postgres.sh writes it into .run/pg/data/wildcat.conf),
# else PG_DEFAULT_PORT. So a cluster moved once with PG_PORT stays there.
pg_port() {
	local p=${PG_PORT:-}
	if [[ -z $p && -r $RUN_DIR/pg/data/wildcat.conf ]]; then
		p=$(sed -nE 's/^port = ([0-9]+).*/\1/p' "$RUN_DIR/pg/data/wildcat.conf" | head -n1)
	fi
	p=${p:-$PG_DEFAULT_PORT}
	valid_port "$p" || die "PG_PORT=$p is not a port number"
	echo "$p"
}

# check_listen_addr VAR: dies unless the variable VAR holds a loopback
# host:port (127.x.x.x:PORT), the only kind of address the local stack uses.
check_listen_addr() {
	local var=$1 addr=${!1}
	if [[ ! $addr =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}:([0-9]+)$ ]] || ! valid_port "${BASH_REMATCH[1]}"; then
		die "$var=$addr: the local stack listens on loopback only; give it as 127.0.0.1:PORT"
	fi
}

# port_busy HOST PORT: true if something accepts TCP connections at HOST:PORT.
# shellcheck disable=SC2016 # $0 and $1 expand in the inner bash
port_busy() { timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; }

# port_pids PORT: the pids of the processes listening on TCP PORT, as far as
# this user can see them (/proc/net/tcp* names the listening sockets' inodes,
# /proc/PID/fd who holds them; root sees every process).
port_pids() {
	local hex inode
	hex=$(printf '%04X' "$1")
	awk -v p="$hex" 'FNR > 1 && $4 == "0A" && substr($2, index($2, ":") + 1) == p {print $10}' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u |
		while read -r inode; do
			find /proc/[0-9]*/fd -maxdepth 1 -lname "socket:\[$inode\]" 2>/dev/null | cut -d/ -f3
		done | sort -un
}

# component_of PID: prints the name of our component with that pid (from the
# pid files the scripts write, and PostgreSQL's own postmaster.pid).
component_of() {
	local f
	for f in "$RUN_DIR"/*.pid; do
		if [[ -s $f && "$(head -n1 "$f")" == "$1" ]]; then
			basename "$f" .pid
			return 0
		fi
	done
	if [[ -s $RUN_DIR/pg/data/postmaster.pid && "$(head -n1 "$RUN_DIR/pg/data/postmaster.pid")" == "$1" ]]; then
		echo postgres
		return 0
	fi
	return 1
}

# check_ports reads "HOST PORT VAR COMPONENT" lines on stdin, one per port a
# start is about to listen on, and dies with one message naming each port that
# is already taken: by another program, or by another of our components. A port
# held by the very component that needs it is fine (that one runs already).
# Two components given the same port are refused too.
check_ports() {
	local host port var comp pid owner who hint problems=() seen=()
	while read -r host port var comp; do
		[[ -n $port ]] || continue
		for who in "${seen[@]}"; do
			if [[ ${who%% *} == "$port" ]]; then
				problems+=("port $port is given to both ${who#* } and $comp ($var); give one of them another port")
				continue 2
			fi
		done
		seen+=("$port $comp (${var})")
		port_busy "$host" "$port" || continue
		owner="" who=""
		for pid in $(port_pids "$port"); do
			owner=$(component_of "$pid") && break
			who="pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-80)"
			who=${who% }
		done
		[[ $owner == "$comp" ]] && continue
		case $var in
		PG_PORT | SEARCH_PORT) hint="$var=NNNN" ;;
		*) hint="$var=$host:NNNN" ;;
		esac
		if [[ -n $owner ]]; then
			problems+=("port $port on $host, which $comp needs ($var), is taken by our own $owner: stop it first (scripts/stack.sh stop $owner) or give $comp another port: $hint make up")
		else
			problems+=("port $port on $host, which $comp needs ($var), is already in use by another program${who:+ ($who)}: stop it or give $comp another port: $hint make up")
		fi
	done
	((${#problems[@]} == 0)) && return 0
	if ((${#problems[@]} == 1)); then
		die "${problems[0]}"
	fi
	die "$(printf '%s\n' "ports needed by the local stack are taken:" "${problems[@]/#/  - }")"
}
