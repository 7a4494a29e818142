#!/usr/bin/env bash
# serve.sh {up|down|status|env}: `storecast serve`, the forecast API and the
# training API. The bearer token of the mutating endpoints (POST /train) is
# generated once into $STATE_DIR/api-token (mode 600) and exported as
# STORECAST_API_TOKEN in .state/env; it never leaves the state folder.
#
# Environment (defaults):
#   STORECAST_FORECAST_ADDR  127.0.0.1:4242  forecast API
#   STORECAST_TRAIN_ADDR     127.0.0.1:4243  training API
#   STORECAST_DASHBOARD_ADDR 127.0.0.1:8000  web dashboard
#   STORECAST_PG_READ_DSN    STORECAST_PG_DSN of .state/env  the dashboard's history (read-only sessions)
#   STORECAST_PG_READ_ROLE   storecast_reader                the role those sessions switch to
#   STORECAST_API_TOKEN      contents of $STATE_DIR/api-token
#   STORECAST_BIN            <repo>/bin/storecast (make build)
#   STORECAST_STATE_DIR      <repo>/.state
#
# State: $STATE_DIR/api-token, pid in $STATE_DIR/run/serve.pid, log in
# $STATE_DIR/logs/serve.log.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FORECAST_ADDR="${STORECAST_FORECAST_ADDR:-127.0.0.1:4242}"
TRAIN_ADDR="${STORECAST_TRAIN_ADDR:-127.0.0.1:4243}"
DASHBOARD_ADDR="${STORECAST_DASHBOARD_ADDR:-127.0.0.1:8000}"
TOKEN_FILE="$STATE_DIR/api-token"
PIDFILE="$RUN_DIR/serve.pid"
LOGFILE="$LOG_DIR/serve.log"
NEEDLE="$STORECAST_BIN serve"
WHERE="forecast API on http://$FORECAST_ADDR (docs /docs), training API on http://$TRAIN_ADDR, dashboard on http://$DASHBOARD_ADDR"

healthy() { http_ok "http://$FORECAST_ADDR/health" && http_ok "http://$TRAIN_ADDR/health" && http_ok "http://$DASHBOARD_ADDR/health"; }

# token: the API token, generated on first use.
token() {
	write_secret "$TOKEN_FILE"
	cat "$TOKEN_FILE"
}

cmd_up() {
	local pid
	pid="$(read_pid "$PIDFILE")"
	if ! pid_matches "$pid" "$NEEDLE"; then
		require_free_port "serve (forecast API)" "${FORECAST_ADDR##*:}" STORECAST_FORECAST_ADDR
		require_free_port "serve (training API)" "${TRAIN_ADDR##*:}" STORECAST_TRAIN_ADDR
		require_free_port "serve (dashboard)" "${DASHBOARD_ADDR##*:}" STORECAST_DASHBOARD_ADDR
	fi
	# In the environment, not on the command line (ps shows that to everyone).
	STORECAST_API_TOKEN="${STORECAST_API_TOKEN:-$(token)}"
	export STORECAST_API_TOKEN
	# The dashboard's history reads the sink's tables in read-only sessions.
	if [[ -z "${STORECAST_PG_READ_DSN:-}" && -r "$STATE_DIR/env" ]]; then
		STORECAST_PG_READ_DSN="$(
			# shellcheck disable=SC1091
			. "$STATE_DIR/env"
			printf '%s' "${STORECAST_PG_DSN:-}"
		)"
	fi
	export STORECAST_PG_READ_DSN="${STORECAST_PG_READ_DSN:-}"
	# ... as the read-only role (sink migration 00005 makes the stack's role a member).
	export STORECAST_PG_READ_ROLE="${STORECAST_PG_READ_ROLE-storecast_reader}"
	go_service_up serve "$PIDFILE" "$LOGFILE" "$NEEDLE" "$WHERE" healthy -- \
		serve --forecast-addr "$FORECAST_ADDR" --train-addr "$TRAIN_ADDR" --dashboard-addr "$DASHBOARD_ADDR"
}

case "${1:-}" in
up) cmd_up ;;
down) stop_pid serve "$PIDFILE" "$NEEDLE" 30 ;;
status) go_service_status serve "$PIDFILE" "$NEEDLE" "$WHERE" healthy ;;
# Only the token: listen addresses in .state/env would reach every command
# (and test) that loads it.
env) env_line STORECAST_API_TOKEN "${STORECAST_API_TOKEN:-$(token)}" ;;
*) die "usage: $0 {up|down|status|env}" ;;
esac
