# shellcheck shell=bash
# lib.sh: helpers shared by the local-stack scripts (sourced, not run).
#
# Every service script (kafka.sh, postgres.sh, ...) sources this file and
# implements the same four verbs:
#   up      start the service unless it already runs; wait until it answers
#           a real request; print where it listens
#   down    stop it, only if this stack started it (pid file / data dir)
#   status  print one line; exit 0 when it answers, 3 when it is stopped
#   env     print `export NAME='value'` lines for .state/env
#
# Everything a service keeps (binaries, data, logs, pid files, secrets)
# lives under STORECAST_STATE_DIR (default: <repo>/.state), which git ignores.

set -euo pipefail

LOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$LOCAL_DIR/../.." && pwd)"
STATE_DIR="${STORECAST_STATE_DIR:-$REPO_DIR/.state}"
mkdir -p "$STATE_DIR"
STATE_DIR="$(cd "$STATE_DIR" && pwd)"
LOG_DIR="$STATE_DIR/logs"
RUN_DIR="$STATE_DIR/run"
mkdir -p "$LOG_DIR" "$RUN_DIR"
chmod 700 "$STATE_DIR"
# The state folder holds secrets, but the postgres system user must reach its
# own data folder inside it: let others traverse (not list) it.
chmod o+x "$STATE_DIR"

# Seconds each service gets to answer after it was started.
STARTUP_TIMEOUT="${STORECAST_STARTUP_TIMEOUT:-120}"

log() { printf '%s\n' "$*" >&2; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# pid_alive PID: the process exists.
pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# pid_matches PID NEEDLE: the process's command line contains NEEDLE, so a
# recycled pid is never mistaken for ours.
pid_matches() {
	local pid="$1" needle="$2"
	pid_alive "$pid" || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$needle"
}

# read_pid FILE: the pid stored in FILE, or nothing.
read_pid() { [[ -f "$1" ]] && head -n1 "$1" | tr -dc '0-9' || true; }

# our_pid PIDFILE NEEDLE: the pid stored in PIDFILE when that process runs
# and is ours (pid_matches NEEDLE), or nothing.
our_pid() {
	local pid
	pid="$(read_pid "$1")"
	if pid_matches "$pid" "$2"; then echo "$pid"; fi
}

# stop_pid NAME PIDFILE NEEDLE [GRACE_SECONDS]: SIGTERM the process of
# PIDFILE (if it still is ours), wait up to GRACE_SECONDS, then SIGKILL.
stop_pid() {
	local name="$1" pidfile="$2" needle="$3" grace="${4:-30}" pid
	pid="$(read_pid "$pidfile")"
	if ! pid_matches "$pid" "$needle"; then
		rm -f "$pidfile"
		log "$name: not running"
		return 0
	fi
	log "$name: stopping (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	local deadline=$((SECONDS + grace))
	while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.5; done
	if pid_alive "$pid"; then
		log "$name: still running after ${grace}s, killing"
		# Its whole process group (setsid made it the leader): a supervised
		# service's child too.
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		while pid_alive "$pid"; do sleep 0.2; done
	fi
	rm -f "$pidfile"
	log "$name: stopped"
}

# wait_until NAME TIMEOUT LOGFILE PID CHECK...: run CHECK until it succeeds.
# Fails with the log file's tail when the deadline passes or PID dies.
wait_until() {
	local name="$1" timeout="$2" logfile="$3" pid="$4"
	shift 4
	local deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		if [[ -n "$pid" ]] && ! pid_alive "$pid"; then
			fail_start "$name" "$logfile" "the process exited"
		fi
		if ((SECONDS >= deadline)); then
			fail_start "$name" "$logfile" "it did not answer within ${timeout}s"
		fi
		sleep 0.5
	done
}

# fail_start NAME LOGFILE WHY: report a failed start and exit.
fail_start() {
	local name="$1" logfile="$2" why="$3"
	{
		printf 'error: %s failed to start: %s\n' "$name" "$why"
		if [[ -f "$logfile" ]]; then
			printf -- '--- last lines of %s ---\n' "$logfile"
			tail -n 25 "$logfile"
			printf -- '--- full log: %s ---\n' "$logfile"
		fi
	} >&2
	exit 1
}

# port_busy PORT: something listens on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# require_free_port NAME PORT VAR: fail clearly when PORT is taken.
require_free_port() {
	local name="$1" port="$2" var="$3"
	if port_busy "$port"; then
		die "$name: port 127.0.0.1:$port is already in use by another process (see: ss -ltnp 'sport = :$port'); stop it or choose another port with $var"
	fi
}

# random_secret: 32 hex characters from the kernel's CSPRNG.
random_secret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# write_secret FILE: create FILE (mode 600) with a random secret unless it exists.
write_secret() {
	local file="$1"
	if [[ ! -s "$file" ]]; then
		(
			umask 077
			random_secret >"$file"
		)
	fi
	chmod 600 "$file"
}

# env_line NAME VALUE: one line of .state/env.
env_line() { printf "export %s='%s'\n" "$1" "$2"; }

# uv_venv NAME PROJECT EXE: PROJECT/.venv from PROJECT/uv.lock (uv from pip
# when missing), unless EXE (a path in the venv) exists and the lock has not
# changed since the last sync. The machine's python3; uv never downloads an
# interpreter. Output goes to $LOG_DIR/NAME-venv.log.
uv_venv() {
	local name="$1" project="$2" exe="$3" venv="$2/.venv" logfile="$LOG_DIR/$1-venv.log" want
	local stamp="$venv/.uv.lock.sha256"
	want="$(sha256sum "$project/uv.lock" | cut -d' ' -f1)"
	if [[ -x "$exe" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
		return 0
	fi
	if ! python3 -m uv --version >/dev/null 2>&1; then
		log "$name: installing uv with pip"
		python3 -m pip install --quiet uv >"$logfile" 2>&1 || die "$name: pip install uv failed; see $logfile"
	fi
	log "$name: syncing $venv with uv (first run only)"
	if ! (cd "$project" && UV_PYTHON_DOWNLOADS=never python3 -m uv sync --frozen --python "$(python3 -c 'import sys; print(sys.executable)')") \
		>>"$logfile" 2>&1; then
		die "$name: uv sync failed; see $logfile"
	fi
	echo "$want" >"$stamp"
}

# ---- Go services (process.sh, sink.sh, serve.sh) ----------------------------

# STORECAST_BIN: the binary the Go services run (`make build` writes it).
STORECAST_BIN="${STORECAST_BIN:-$REPO_DIR/bin/storecast}"

# http_ok URL: URL answers 2xx within 3 s.
http_ok() { curl -fsS --max-time 3 -o /dev/null "$1"; }

# go_service_up NAME PIDFILE LOGFILE NEEDLE WHERE CHECK -- ARGS...: start
# `storecast ARGS...` in the background (its own session, the stack's
# environment from .state/env) under supervise.sh (restarted whenever it
# exits), unless it already runs, and wait until CHECK succeeds. NEEDLE is a substring of the command line (recycled pids).
go_service_up() {
	local name="$1" pidfile="$2" logfile="$3" needle="$4" where="$5" check="$6" pid
	shift 6
	[[ "${1:-}" == "--" ]] && shift
	pid="$(read_pid "$pidfile")"
	if pid_matches "$pid" "$needle"; then
		wait_until "$name" "$STARTUP_TIMEOUT" "$logfile" "$pid" "$check"
		log "$name: already running (pid $pid), $where"
		return 0
	fi
	[[ -x "$STORECAST_BIN" ]] || die "$name: $STORECAST_BIN is missing; run 'make build' first"
	log "$name: starting storecast $*"
	# with-env.sh loads .state/env (variables already set win) and execs
	# setsid, which execs supervise.sh: $! is the supervisor's pid (its
	# command line holds NEEDLE), which starts the binary again whenever it
	# exits; the service outlives the shell (and the make job) that started it.
	STORECAST_STATE_DIR="$STATE_DIR" "$LOCAL_DIR/with-env.sh" setsid "$LOCAL_DIR/supervise.sh" "$name" -- "$STORECAST_BIN" "$@" \
		</dev/null >>"$logfile" 2>&1 &
	pid=$!
	echo "$pid" >"$pidfile"
	wait_until "$name" "$STARTUP_TIMEOUT" "$logfile" "$pid" "$check"
	log "$name: up (pid $pid), $where; logs $logfile"
}

# go_service_status NAME PIDFILE NEEDLE WHERE CHECK: one status line.
go_service_status() {
	local name="$1" pidfile="$2" needle="$3" where="$4" check="$5" pid
	pid="$(read_pid "$pidfile")"
	if ! pid_matches "$pid" "$needle"; then
		echo "$name: stopped"
		return 3
	fi
	if "$check" >/dev/null 2>&1; then
		echo "$name: running (pid $pid), $where"
	else
		echo "$name: process $pid runs but does not answer ($where); see $LOG_DIR/$name.log"
		return 1
	fi
}
