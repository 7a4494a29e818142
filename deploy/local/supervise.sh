#!/usr/bin/env bash
# supervise.sh NAME -- CMD [ARGS...]: run CMD and start it again whenever it
# exits, as compose's `restart: unless-stopped` does. The local stack runs
# the Go services under it (process.sh, sink.sh, serve.sh): the second line
# of defence behind their own in-process reconnects.
#
# - SIGTERM/SIGINT to the supervisor are passed to CMD; once CMD has
#   exited the supervisor exits 0 without restarting it.
# - Restarts wait STORECAST_RESTART_MIN seconds (default 1), doubling up to
#   STORECAST_RESTART_MAX (default 30); a run of 60 s or more resets it.
# - Each restart is logged (stderr: the service's log) and counted: CMD gets
#   STORECAST_RESTARTS (how many times it was restarted so far), which
#   storecast exports as storecast_supervisor_restarts_total, and the count
#   is written to $STATE_DIR/run/NAME.restarts.
set -uo pipefail

name="${1:?usage: supervise.sh NAME -- CMD [ARGS...]}"
shift
[[ "${1:-}" == "--" ]] && shift
(($# > 0)) || {
	echo "usage: supervise.sh NAME -- CMD [ARGS...]" >&2
	exit 2
}

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
run_dir="${STORECAST_STATE_DIR:-$repo/.state}/run"
mkdir -p "$run_dir"
count_file="$run_dir/$name.restarts"
min="${STORECAST_RESTART_MIN:-1}"
max="${STORECAST_RESTART_MAX:-30}"
stable=60

say() { printf '%s supervise: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

child=""
stopping=false
stop() {
	stopping=true
	if [[ -n "$child" ]]; then kill -TERM "$child" 2>/dev/null || true; fi
}
trap stop TERM INT

restarts=0
backoff=0
echo 0 >"$count_file"
while :; do
	start=$SECONDS
	STORECAST_RESTARTS="$restarts" "$@" &
	child=$!
	wait "$child"
	status=$?
	# A trapped signal interrupts wait (status > 128) while CMD shuts down.
	while kill -0 "$child" 2>/dev/null; do
		wait "$child"
		status=$?
	done
	child=""
	if $stopping; then
		say "$name stopped (status $status)"
		exit 0
	fi
	ran=$((SECONDS - start))
	if ((backoff == 0 || ran >= stable)); then
		backoff=$min
	else
		backoff=$((backoff * 2 > max ? max : backoff * 2))
	fi
	restarts=$((restarts + 1))
	echo "$restarts" >"$count_file"
	say "$name exited with status $status after ${ran}s; restart $restarts in ${backoff}s"
	sleep "$backoff" &
	child=$!
	wait "$child"
	child=""
	if $stopping; then
		say "$name stopped while waiting to restart"
		exit 0
	fi
done
