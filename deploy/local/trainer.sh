#!/usr/bin/env bash
# trainer.sh {up|down|status|env}: the training worker (`storecast-trainer
# worker` from trainer/.venv): consumes train_requests, trains XGBoost, logs
# to MLflow, publishes models and train_results. Needs Kafka and MLflow
# (start after mlflow.sh); it waits for its topics if they do not exist yet.
#
# Environment (defaults):
#   STORECAST_TRAINER_METRICS_ADDR  127.0.0.1:9104  /metrics
#   STORECAST_MLFLOW_TRACKING_URI   http://127.0.0.1:${STORECAST_MLFLOW_PORT:-5050}
#   STORECAST_BROKERS               127.0.0.1:${STORECAST_KAFKA_PORT:-9092}
#   STORECAST_STATE_DIR             <repo>/.state
#   STORECAST_TRAINER_CACHE_DIR     $STATE_DIR/trainer-cache  examples cache (disposable)
#   STORECAST_BIN                   <repo>/bin/storecast  replays each model's golden rows (storecast golden)
#   STORECAST_TRAINER_PARAMS        (none)  default training parameters K=V,... (e.g. members=3)
#
# State: pid in $STATE_DIR/run/trainer.pid, log in $STATE_DIR/logs/trainer.log.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

METRICS_ADDR="${STORECAST_TRAINER_METRICS_ADDR:-127.0.0.1:9104}"
TRACKING_URI="${STORECAST_MLFLOW_TRACKING_URI:-http://127.0.0.1:${STORECAST_MLFLOW_PORT:-5050}}"
BROKERS="${STORECAST_BROKERS:-127.0.0.1:${STORECAST_KAFKA_PORT:-9092}}"
CACHE_DIR="${STORECAST_TRAINER_CACHE_DIR:-$STATE_DIR/trainer-cache}"
PIDFILE="$RUN_DIR/trainer.pid"
LOGFILE="$LOG_DIR/trainer.log"
BIN="$REPO_DIR/trainer/.venv/bin/storecast-trainer"
NEEDLE="storecast-trainer worker"

healthy() { curl -fsS --max-time 3 "http://$METRICS_ADDR/metrics" | grep -q '^storecast_trainer_runs_total'; }

running_pid() { our_pid "$PIDFILE" "$NEEDLE"; }

cmd_up() {
	local pid
	pid="$(running_pid)"
	if [[ -n "$pid" ]]; then
		wait_until trainer "$STARTUP_TIMEOUT" "$LOGFILE" "$pid" healthy
		log "trainer: already running (pid $pid), metrics on http://$METRICS_ADDR/metrics"
		return 0
	fi
	[[ -x "$BIN" ]] || die "trainer: $BIN is missing; run deploy/local/mlflow.sh up (or make trainer-venv) first"
	require_free_port trainer "${METRICS_ADDR##*:}" STORECAST_TRAINER_METRICS_ADDR
	log "trainer: starting the training worker"
	STORECAST_BROKERS="$BROKERS" STORECAST_MLFLOW_TRACKING_URI="$TRACKING_URI" \
		STORECAST_TRAINER_METRICS_ADDR="$METRICS_ADDR" STORECAST_TRAINER_CACHE_DIR="$CACHE_DIR" \
		STORECAST_BIN="$STORECAST_BIN" setsid "$BIN" worker </dev/null >>"$LOGFILE" 2>&1 &
	pid=$!
	echo "$pid" >"$PIDFILE"
	wait_until trainer "$STARTUP_TIMEOUT" "$LOGFILE" "$pid" healthy
	log "trainer: up (pid $pid), metrics on http://$METRICS_ADDR/metrics; logs $LOGFILE"
}

# A training run in progress finishes its step before the worker exits; give it time.
cmd_down() { stop_pid trainer "$PIDFILE" "$NEEDLE" 60; }

cmd_status() {
	local pid
	pid="$(running_pid)"
	if [[ -z "$pid" ]]; then
		echo "trainer: stopped"
		return 3
	fi
	if healthy; then
		echo "trainer: running (pid $pid), metrics on http://$METRICS_ADDR/metrics"
	else
		echo "trainer: process $pid runs but its metrics do not answer on $METRICS_ADDR; see $LOGFILE"
		return 1
	fi
}

cmd_env() { env_line STORECAST_TRAINER_METRICS_ADDR "$METRICS_ADDR"; }

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
*) die "usage: $0 {up|down|status|env}" ;;
esac
