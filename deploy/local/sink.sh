#!/usr/bin/env bash
# sink.sh {up|down|status|env}: the PostgreSQL sink, `storecast sink run`
# (sales into rossman_sales, forecasts into forecast_results), which applies
# pending schema migrations on start. Needs the topics and STORECAST_PG_DSN
# (from .state/env).
#
# Environment (defaults):
#   STORECAST_SINK_METRICS_ADDR  127.0.0.1:9102  /healthz, /readyz, /metrics
#   STORECAST_BIN                <repo>/bin/storecast (make build)
#   STORECAST_STATE_DIR          <repo>/.state
#
# State: pid in $STATE_DIR/run/sink.pid, log in $STATE_DIR/logs/sink.log.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

METRICS_ADDR="${STORECAST_SINK_METRICS_ADDR:-127.0.0.1:9102}"
PIDFILE="$RUN_DIR/sink.pid"
LOGFILE="$LOG_DIR/sink.log"
NEEDLE="$STORECAST_BIN sink"
WHERE="health and metrics on http://$METRICS_ADDR/healthz, /metrics"

healthy() { http_ok "http://$METRICS_ADDR/healthz"; }

cmd_up() {
	local pid
	pid="$(read_pid "$PIDFILE")"
	if ! pid_matches "$pid" "$NEEDLE"; then
		require_free_port sink "${METRICS_ADDR##*:}" STORECAST_SINK_METRICS_ADDR
	fi
	go_service_up sink "$PIDFILE" "$LOGFILE" "$NEEDLE" "$WHERE" healthy -- \
		sink run --migrate --metrics-addr "$METRICS_ADDR"
}

case "${1:-}" in
up) cmd_up ;;
# The sink flushes its last batch on SIGTERM (STORECAST_SINK_FLUSH_TIMEOUT, 15s).
down) stop_pid sink "$PIDFILE" "$NEEDLE" 45 ;;
status) go_service_status sink "$PIDFILE" "$NEEDLE" "$WHERE" healthy ;;
env) ;; # nothing: its address in .state/env would reach every command that loads it
*) die "usage: $0 {up|down|status|env}" ;;
esac
