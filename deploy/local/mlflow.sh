#!/usr/bin/env bash
# mlflow.sh {up|down|status|env} (aliases: start, stop, wait): the MLflow
# tracking server from the trainer's venv (trainer/.venv, made by uv) on
# loopback, with served artifacts (clients upload and download through the
# server, so nothing needs the artifact folder's path).
#
# Environment (defaults):
#   STORECAST_MLFLOW_PORT         5050  tracking server on 127.0.0.1
#   STORECAST_MLFLOW_BACKEND_URI  sqlite:///$STATE_DIR/mlflow/mlflow.db
#                                 (a postgres:// or postgresql:// URI uses
#                                 PostgreSQL; the database must exist)
#   STORECAST_MLFLOW_WORKERS      1     server worker processes
#   STORECAST_STATE_DIR           <repo>/.state
#
# Metrics: the server exposes Prometheus metrics on /metrics
# (--expose-prometheus: prometheus-flask-exporter in trainer/uv.lock; the
# workers share them through $STATE_DIR/mlflow/prometheus, emptied on every
# start); deploy/prometheus/prometheus.yml scrapes it as job mlflow.
#
# State: $STATE_DIR/mlflow/{mlflow.db,artifacts,prometheus}, pid in
# $STATE_DIR/run/mlflow.pid, log in $STATE_DIR/logs/mlflow.log.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MLFLOW_PORT="${STORECAST_MLFLOW_PORT:-5050}"
MLFLOW_DIR="$STATE_DIR/mlflow"
BACKEND_URI="${STORECAST_MLFLOW_BACKEND_URI:-sqlite:///$MLFLOW_DIR/mlflow.db}"
# SQLAlchemy knows postgresql:// (driver psycopg 3, in the venv), not libpq's postgres://.
BACKEND_URI="${BACKEND_URI/#postgres:\/\//postgresql://}"
ARTIFACTS="$MLFLOW_DIR/artifacts"
# prometheus_client's multiprocess files of the server's workers.
PROM_DIR="$MLFLOW_DIR/prometheus"
WORKERS="${STORECAST_MLFLOW_WORKERS:-1}"
PIDFILE="$RUN_DIR/mlflow.pid"
LOGFILE="$LOG_DIR/mlflow.log"
TRAINER_DIR="$REPO_DIR/trainer"
VENV="$TRAINER_DIR/.venv"
# Identifies our server in `ps` (the artifacts folder is on its command line).
NEEDLE="$ARTIFACTS"

# ensure_venv: trainer/.venv from trainer/uv.lock.
ensure_venv() { uv_venv mlflow "$TRAINER_DIR" "$VENV/bin/mlflow"; }

healthy() { curl -fsS --max-time 3 "http://127.0.0.1:$MLFLOW_PORT/health" | grep -q OK; }
# metrics_ok: /metrics answers (the Prometheus target).
metrics_ok() { curl -fsS --max-time 5 "http://127.0.0.1:$MLFLOW_PORT/metrics" | grep -q '^# TYPE'; }

running_pid() { our_pid "$PIDFILE" "$NEEDLE"; }

cmd_up() {
	local pid
	pid="$(running_pid)"
	if [[ -n "$pid" ]]; then
		wait_until mlflow "$STARTUP_TIMEOUT" "$LOGFILE" "$pid" healthy
		log "mlflow: already running (pid $pid) on http://127.0.0.1:$MLFLOW_PORT"
		metrics_ok || log "mlflow: warning: the running server has no /metrics (started before --expose-prometheus); restart it: $0 down; $0 up"
		return 0
	fi
	require_free_port mlflow "$MLFLOW_PORT" STORECAST_MLFLOW_PORT
	ensure_venv
	mkdir -p "$MLFLOW_DIR" "$ARTIFACTS"
	# A previous server's multiprocess files would add its counts to this one's.
	rm -rf "$PROM_DIR"
	mkdir -p "$PROM_DIR"
	log "mlflow: starting the tracking server (backend ${BACKEND_URI%%:*})"
	# setsid: the server outlives the shell (and the make job) that started it.
	# No job runner: it serves GenAI jobs Storecast does not use, and costs
	# several processes on a two-core machine.
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false MLFLOW_HOME="$MLFLOW_DIR" setsid "$VENV/bin/mlflow" server \
		--host 127.0.0.1 --port "$MLFLOW_PORT" --workers "$WORKERS" \
		--backend-store-uri "$BACKEND_URI" \
		--serve-artifacts --artifacts-destination "$ARTIFACTS" \
		--expose-prometheus "$PROM_DIR" \
		</dev/null >>"$LOGFILE" 2>&1 &
	pid=$!
	echo "$pid" >"$PIDFILE"
	wait_until mlflow "$STARTUP_TIMEOUT" "$LOGFILE" "$pid" healthy
	log "mlflow: up (pid $pid) on http://127.0.0.1:$MLFLOW_PORT (metrics on /metrics); logs $LOGFILE"
}

# cmd_down: stop the server's whole process group (setsid made the server
# its leader), so uvicorn's workers never outlive it.
cmd_down() {
	local pid
	pid="$(running_pid)"
	if [[ -n "$pid" ]]; then
		kill -TERM -- "-$pid" 2>/dev/null || true
	fi
	stop_pid mlflow "$PIDFILE" "$NEEDLE" 30
	if [[ -n "$pid" ]]; then
		kill -KILL -- "-$pid" 2>/dev/null || true
	fi
}

cmd_status() {
	local pid
	pid="$(running_pid)"
	if [[ -z "$pid" ]]; then
		echo "mlflow: stopped"
		return 3
	fi
	if healthy; then
		echo "mlflow: running (pid $pid) on http://127.0.0.1:$MLFLOW_PORT"
	else
		echo "mlflow: process $pid runs but does not answer on 127.0.0.1:$MLFLOW_PORT; see $LOGFILE"
		return 1
	fi
}

cmd_env() { env_line STORECAST_MLFLOW_TRACKING_URI "http://127.0.0.1:$MLFLOW_PORT"; }

case "${1:-}" in
up | start) cmd_up ;;
down | stop) cmd_down ;;
status) cmd_status ;;
wait) wait_until mlflow "$STARTUP_TIMEOUT" "$LOGFILE" "$(running_pid)" healthy ;;
env) cmd_env ;;
*) die "usage: $0 {up|down|status|env|start|stop|wait}" ;;
esac
