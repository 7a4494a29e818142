#!/usr/bin/env bash
# process.sh {up|down|status|env}: the Goka processors, `storecast process
# --only features,forecast` (per-store features and training examples;
# forecast requests by event), with their LevelDB tables under the state
# folder. Needs the topics (stack.sh up --all creates them first).
#
# Environment (defaults):
#   STORECAST_PROCESS_METRICS_ADDR  127.0.0.1:9103  /metrics and pprof
#   STORECAST_BIN                   <repo>/bin/storecast (make build)
#   STORECAST_STATE_DIR             <repo>/.state
#
# State: $STATE_DIR/goka (tables), pid in $STATE_DIR/run/process.pid, log
# in $STATE_DIR/logs/process.log.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

METRICS_ADDR="${STORECAST_PROCESS_METRICS_ADDR:-127.0.0.1:9103}"
PIDFILE="$RUN_DIR/process.pid"
LOGFILE="$LOG_DIR/process.log"
NEEDLE="$STORECAST_BIN process"
WHERE="metrics on http://$METRICS_ADDR/metrics"

healthy() { http_ok "http://$METRICS_ADDR/metrics"; }

cmd_up() {
	local pid
	pid="$(read_pid "$PIDFILE")"
	if ! pid_matches "$pid" "$NEEDLE"; then
		require_free_port process "${METRICS_ADDR##*:}" STORECAST_PROCESS_METRICS_ADDR
	fi
	go_service_up process "$PIDFILE" "$LOGFILE" "$NEEDLE" "$WHERE" healthy -- \
		process --only features,forecast --storage-dir "$STATE_DIR/goka" --metrics-addr "$METRICS_ADDR"
}

case "${1:-}" in
up) cmd_up ;;
down) stop_pid process "$PIDFILE" "$NEEDLE" 60 ;;
status) go_service_status process "$PIDFILE" "$NEEDLE" "$WHERE" healthy ;;
env) ;; # nothing: its address in .state/env would reach every command that loads it
*) die "usage: $0 {up|down|status|env}" ;;
esac
