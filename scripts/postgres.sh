#!/usr/bin/env bash
# postgres.sh start|stop|status|url|admin-url|ports — the project's own PostgreSQL
# cluster for local runs and tests.
#
#   data      .run/pg/data          (owned by the unprivileged user "wildcat" when run as root)
#   socket    .run/pg/sock          (mode 0700; trust auth there, nobody else can reach it)
#   TCP       127.0.0.1:PG_PORT only (default in lib.sh: 55432), scram-sha-256
#   log       .run/logs/postgres.log
#   pid       .run/postgres.pid     (postmaster pid)
#
# Roles: "postgres" (bootstrap superuser, the admin URL the tests create their
# databases from) with a random password kept in .run/postgres-admin.password
# (mode 0600), and "wildcat" (LOGIN REPLICATION CREATEDB NOSUPERUSER, password
# "wildcat", owner of database "wildcat": what the services use). A cluster
# created before the random password (superuser password "postgres") gets one
# on its next start; until then admin-url still names the old one.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_HOME="$RUN_DIR/pg"
PGDATA_DIR="$PG_HOME/data"
PID_FILE="$RUN_DIR/postgres.pid"
PG_LOG="$LOG_DIR/postgres.log"
# The superuser's password: random, readable by the caller alone.
ADMIN_PW_FILE="$RUN_DIR/postgres-admin.password"

usage() {
	echo "usage: $0 start|stop|status|url|admin-url|ports" >&2
	exit 2
}

# configured_port prints the port: that of the running cluster (the one it was
# started with), else the one the next start will use (pg_port in lib.sh).
configured_port() {
	if is_running; then
		local p
		p=$(sed -nE 's/^port = ([0-9]+).*/\1/p' "$PGDATA_DIR/wildcat.conf" 2>/dev/null | head -n1)
		if [[ -n $p ]]; then
			echo "$p"
			return
		fi
	fi
	pg_port
}

app_url() { echo "postgres://wildcat:wildcat@$STACK_HOST:$(configured_port)/wildcat?sslmode=disable"; }
# admin_url names the superuser with its password: the generated one, or
# "postgres" for a cluster from before it that has not been started since.
admin_url() {
	local pw=postgres
	if [[ -s $ADMIN_PW_FILE ]]; then
		pw=$(<"$ADMIN_PW_FILE")
	fi
	echo "postgres://postgres:$pw@$STACK_HOST:$(configured_port)/postgres?sslmode=disable"
}

# ensure_admin_password writes a random superuser password into
# $ADMIN_PW_FILE (mode 0600) unless one is there; URL-safe characters only.
ensure_admin_password() {
	ensure_run_dirs
	if [[ ! -s $ADMIN_PW_FILE ]]; then
		(
			umask 077
			head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$ADMIN_PW_FILE.tmp"
		)
		mv "$ADMIN_PW_FILE.tmp" "$ADMIN_PW_FILE"
	fi
	chmod 0600 "$ADMIN_PW_FILE"
}

PG_BIN_DIR=""
find_pg_bin() {
	PG_BIN_DIR=$(pg_bin_dir) || die "PostgreSQL server binaries not found (initdb/pg_ctl on PATH or /usr/lib/postgresql/*/bin). Run scripts/prereqs.sh."
}

psql_bin() {
	if [[ -x $PG_BIN_DIR/psql ]]; then echo "$PG_BIN_DIR/psql"; else command -v psql; fi
}

# svc CMD...: runs a PostgreSQL binary as the cluster owner, from "/" so that a
# working directory the owner cannot enter does not matter.
svc() {
	(cd / && as_service_user "$@")
}

is_running() {
	[[ -f $PGDATA_DIR/PG_VERSION ]] || return 1
	[[ -n $PG_BIN_DIR ]] || find_pg_bin
	svc "$PG_BIN_DIR/pg_ctl" status -D "$PGDATA_DIR" >/dev/null 2>&1
}

# prepare_home makes .run/pg usable by the cluster owner. When we run as root
# and the checkout sits below a directory the unprivileged user cannot enter
# (say /root/...), the cluster lives in /var/tmp/wildcat-pg-<hash> and .run/pg
# is a symlink to it.
prepare_home() {
	ensure_run_dirs
	ensure_service_user
	if ! is_root; then
		mkdir -p "$PG_HOME"
		return
	fi
	if [[ ! -e $PG_HOME ]]; then
		mkdir -p "$PG_HOME"
	fi
	chown "$SERVICE_USER:" "$PG_HOME"
	chmod 0700 "$PG_HOME"
	if ! (cd / && runuser -u "$SERVICE_USER" -- test -w "$(real_home)/"); then
		local fb
		fb="/var/tmp/wildcat-pg-$(short_hash "$ROOT")"
		warn "user $SERVICE_USER cannot reach $PG_HOME (a parent directory is closed to it); keeping the cluster in $fb"
		mkdir -p "$fb"
		chown "$SERVICE_USER:" "$fb"
		chmod 0700 "$fb"
		rmdir "$PG_HOME" 2>/dev/null || die "$PG_HOME is not empty and not usable by $SERVICE_USER; remove it (rm -rf .run/pg) and retry"
		ln -s "$fb" "$PG_HOME"
	fi
}

# real_home prints the resolved path of .run/pg (it may be a symlink).
real_home() { readlink -f "$PG_HOME"; }

# resolve_data points PGDATA_DIR at the real data directory: the cluster owner
# may be unable to follow the path through .run when .run/pg is a symlink.
resolve_data() {
	if [[ -e $PG_HOME ]]; then
		PGDATA_DIR="$(real_home)/data"
	fi
}

socket_dir() {
	local dir port
	dir="$(real_home)/sock"
	port=$(configured_port)
	# Unix socket paths are limited to 107 bytes.
	if ((${#dir} + 14 + ${#port} > 100)); then
		dir="/tmp/wildcat-pg-sock-$(short_hash "$ROOT")"
	fi
	echo "$dir"
}

write_config() {
	local port=$1 sock=$2
	local conf="$PGDATA_DIR/wildcat.conf"
	cat >"$conf.tmp" <<EOF
# Written by scripts/postgres.sh on every start; edit the script, not this file.
listen_addresses = '$STACK_HOST'
port = $port
unix_socket_directories = '$sock'
unix_socket_permissions = 0700
max_connections = 200
shared_buffers = 256MB
password_encryption = 'scram-sha-256'

# Logical replication for the projector (pgoutput).
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
max_slot_wal_keep_size = 4GB

# Checkpoints bound crash recovery: after a crash PostgreSQL replays the WAL
# from the last checkpoint's redo point before it accepts connections (the
# command API answers 503 meanwhile). With 15min/4GB a fault run at 400
# payments/s replayed 20 minutes of WAL in 8 s; 5min/1GB keeps the redo
# distance under ~9 minutes of WAL (timeout x (1 + completion target)) and
# 1GB, about 3-4 s of recovery at that rate. The price is more full-page
# images after each checkpoint, which lz4 compresses (docs/command-api.md, Database outages).
max_wal_size = 1GB
checkpoint_timeout = 5min
checkpoint_completion_target = 0.9
wal_compression = lz4

# Durability stays as in production: fsync on, synchronous_commit default.
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
	mv "$conf.tmp" "$conf"
	cat >"$PGDATA_DIR/pg_hba.conf" <<EOF
# Written by scripts/postgres.sh. Loopback only.
# TYPE  DATABASE     USER  ADDRESS        METHOD
# The socket directory is mode 0700: only the cluster owner (and root) reach it.
local   all          all                  trust
host    all          all   $STACK_HOST/32   scram-sha-256
host    replication  all   $STACK_HOST/32   scram-sha-256
EOF
	if is_root; then
		chown "$SERVICE_USER:" "$conf" "$PGDATA_DIR/pg_hba.conf"
	fi
	chmod 0600 "$conf" "$PGDATA_DIR/pg_hba.conf"
}

init_cluster() {
	local home pwfile locale_opt=(--no-locale)
	home=$(real_home)
	log "initdb $PGDATA_DIR ($PG_BIN_DIR)"
	ensure_admin_password
	pwfile="$home/.pwfile"
	(umask 077 && cat "$ADMIN_PW_FILE" >"$pwfile")
	is_root && chown "$SERVICE_USER:" "$pwfile"
	chmod 0600 "$pwfile"
	# C.UTF-8 gives Unicode-aware lower()/upper() (case-insensitive emails)
	# with byte-order collation; fall back to plain C where it is missing.
	if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
		locale_opt=(--locale=C.UTF-8)
	fi
	private_file "$LOG_DIR/initdb.log"
	if ! svc "$PG_BIN_DIR/initdb" -D "$PGDATA_DIR" -U postgres --pwfile="$pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 -E UTF8 "${locale_opt[@]}" \
		>>"$LOG_DIR/initdb.log" 2>&1; then
		rm -f "$pwfile"
		log_tail "$LOG_DIR/initdb.log"
		die "initdb failed"
	fi
	rm -f "$pwfile"
	echo "include_if_exists = 'wildcat.conf'" >>"$PGDATA_DIR/postgresql.conf"
}

# bootstrap creates the application role and database and sets the
# superuser's password from $ADMIN_PW_FILE (idempotent; this is also how a
# cluster from before the generated password moves off "postgres"). Over the
# Unix socket, which trusts the cluster owner.
bootstrap() {
	local port=$1 sock=$2
	ensure_admin_password
	# The password goes in on stdin, never on a command line (ps shows those);
	# it is base64url, so it needs no quoting.
	{
		printf "ALTER ROLE postgres PASSWORD '%s';\n" "$(<"$ADMIN_PW_FILE")"
		cat <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wildcat') THEN
    CREATE ROLE wildcat LOGIN REPLICATION CREATEDB NOSUPERUSER PASSWORD 'wildcat';
  END IF;
END
$$;
ALTER ROLE wildcat LOGIN REPLICATION CREATEDB NOSUPERUSER NOCREATEROLE PASSWORD 'wildcat';
SELECT 'CREATE DATABASE wildcat OWNER wildcat'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'wildcat') \gexec
SQL
	} | svc "$(psql_bin)" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres -d postgres >/dev/null
}

write_pid() {
	head -n1 "$PGDATA_DIR/postmaster.pid" >"$PID_FILE"
}

cmd_start() {
	find_pg_bin
	prepare_home
	resolve_data
	local port sock
	port=$(configured_port)
	sock=$(socket_dir)
	if is_running; then
		write_pid
		bootstrap "$port" "$sock"
		if [[ -n ${PG_PORT:-} && $PG_PORT != "$port" ]]; then
			warn "PG_PORT=$PG_PORT: the cluster runs on port $port; it moves on its next start (scripts/stack.sh stop postgres)"
		fi
		log "already running (pid $(cat "$PID_FILE"), port $port)"
		return 0
	fi
	cmd_ports | check_ports
	if [[ ! -f $PGDATA_DIR/PG_VERSION ]]; then
		init_cluster
	fi
	mkdir -p "$sock"
	if is_root; then
		chown "$SERVICE_USER:" "$sock"
	fi
	chmod 0700 "$sock"
	write_config "$port" "$sock"

	# The cluster owner writes the log: give it the file (or, when it cannot
	# reach .run/logs, a file next to the cluster linked from .run/logs).
	local logfile=$PG_LOG
	if is_root; then
		if [[ -L $PG_HOME ]]; then
			logfile="$(real_home)/postgres.log"
			private_file "$logfile"
			ln -sfn "$logfile" "$PG_LOG"
		else
			[[ -L $PG_LOG ]] && rm -f "$PG_LOG"
			private_file "$PG_LOG"
		fi
		chown "$SERVICE_USER:" "$logfile"
	else
		private_file "$PG_LOG"
	fi

	log "starting PostgreSQL on $STACK_HOST:$port (log: .run/logs/postgres.log)"
	if ! svc "$PG_BIN_DIR/pg_ctl" start -D "$PGDATA_DIR" -l "$logfile" -w -t 90 -s; then
		log_tail "$PG_LOG"
		die "PostgreSQL did not start"
	fi
	write_pid
	bootstrap "$port" "$sock"
	log "ready: $(app_url)"
}

cmd_stop() {
	find_pg_bin
	if ! is_running; then
		rm -f "$PID_FILE"
		log "not running"
		return 0
	fi
	log "stopping PostgreSQL"
	svc "$PG_BIN_DIR/pg_ctl" stop -D "$PGDATA_DIR" -m fast -w -t 60 -s
	rm -f "$PID_FILE"
	log "stopped"
}

# cmd_ports prints the port a start listens on, as "HOST PORT VAR COMPONENT"
# (check_ports in lib.sh reads it).
cmd_ports() {
	local port
	port=$(configured_port)
	echo "$STACK_HOST $port PG_PORT postgres"
}

cmd_status() {
	if is_running; then
		write_pid
		echo "postgres: running (pid $(cat "$PID_FILE")) $(app_url)"
	else
		echo "postgres: stopped"
		return 3
	fi
}

resolve_data
case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
url) app_url ;;
admin-url) admin_url ;;
ports) cmd_ports ;;
*) usage ;;
esac
