#!/usr/bin/env bash
# statsd-exporter.sh {up|down|status|env|install}: Prometheus's statsd_exporter,
# which turns Airflow's StatsD metrics (airflow.sh sends them) into Prometheus
# series with deploy/prometheus/statsd-mapping.yml; Prometheus scrapes it as job
# airflow. Started before Airflow by `make up` (stack.sh SERVICES) and by
# `make airflow`; `make services` starts neither.
#
#   install  build the pinned exporter into $STATE_DIR/tools (once; Go's module
#            proxy, like golangci-lint and gitleaks) and print its path
#
# Environment (defaults):
#   STORECAST_STATSD_EXPORTER_PORT  9105  /metrics on 127.0.0.1
#   STORECAST_STATSD_PORT           9125  StatsD lines in, UDP on 127.0.0.1 (no TCP listener)
#   STORECAST_STATE_DIR             <repo>/.state
#
# State: the binary in $STATE_DIR/tools/statsd_exporter-<version>/, pid in
# $STATE_DIR/run/statsd-exporter.pid, log in $STATE_DIR/logs/statsd-exporter.log.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VERSION=v0.31.0
MODULE=github.com/prometheus/statsd_exporter
WEB_PORT="${STORECAST_STATSD_EXPORTER_PORT:-9105}"
UDP_PORT="${STORECAST_STATSD_PORT:-9125}"
BIN_DIR="$STATE_DIR/tools/statsd_exporter-$VERSION"
BIN="$BIN_DIR/statsd_exporter"
MAPPING="$REPO_DIR/deploy/prometheus/statsd-mapping.yml"
PIDFILE="$RUN_DIR/statsd-exporter.pid"
LOGFILE="$LOG_DIR/statsd-exporter.log"
# Identifies our exporter in `ps`: its listen address.
NEEDLE="--web.listen-address=127.0.0.1:$WEB_PORT"

# cmd_install: the pinned binary, built once with `go install`.
cmd_install() {
	if [[ ! -x "$BIN" ]]; then
		command -v go >/dev/null || die "statsd-exporter: go not found (it builds $MODULE@$VERSION)"
		log "statsd-exporter: building $MODULE@$VERSION into $BIN_DIR (once)"
		mkdir -p "$BIN_DIR"
		GOBIN="$BIN_DIR" go install "$MODULE@$VERSION" >>"$LOG_DIR/statsd-exporter-install.log" 2>&1 ||
			die "statsd-exporter: go install $MODULE@$VERSION failed; see $LOG_DIR/statsd-exporter-install.log"
	fi
	echo "$BIN"
}

healthy() { curl -fsS --max-time 3 "http://127.0.0.1:$WEB_PORT/metrics" | grep -q '^statsd_exporter_build_info'; }

running_pid() { our_pid "$PIDFILE" "$NEEDLE"; }

cmd_up() {
	local pid
	pid="$(running_pid)"
	if [[ -n "$pid" ]]; then
		wait_until statsd-exporter "$STARTUP_TIMEOUT" "$LOGFILE" "$pid" healthy
		log "statsd-exporter: already running (pid $pid) on http://127.0.0.1:$WEB_PORT, StatsD udp://127.0.0.1:$UDP_PORT"
		return 0
	fi
	require_free_port statsd-exporter "$WEB_PORT" STORECAST_STATSD_EXPORTER_PORT
	cmd_install >/dev/null
	"$BIN" --check-config --statsd.mapping-config="$MAPPING" >>"$LOGFILE" 2>&1 ||
		die "statsd-exporter: $MAPPING is invalid; see $LOGFILE"
	log "statsd-exporter: starting $BIN"
	# setsid: the exporter outlives the shell (and the make job) that started it.
	setsid "$BIN" --web.listen-address="127.0.0.1:$WEB_PORT" \
		--statsd.listen-udp="127.0.0.1:$UDP_PORT" --statsd.listen-tcp= \
		--statsd.mapping-config="$MAPPING" \
		</dev/null >>"$LOGFILE" 2>&1 &
	pid=$!
	echo "$pid" >"$PIDFILE"
	wait_until statsd-exporter "$STARTUP_TIMEOUT" "$LOGFILE" "$pid" healthy
	log "statsd-exporter: up (pid $pid) on http://127.0.0.1:$WEB_PORT/metrics, StatsD udp://127.0.0.1:$UDP_PORT; logs $LOGFILE"
}

cmd_down() { stop_pid statsd-exporter "$PIDFILE" "$NEEDLE" 10; }

cmd_status() {
	local pid
	pid="$(running_pid)"
	if [[ -z "$pid" ]]; then
		echo "statsd-exporter: stopped"
		return 3
	fi
	if healthy; then
		echo "statsd-exporter: running (pid $pid) on http://127.0.0.1:$WEB_PORT/metrics, StatsD udp://127.0.0.1:$UDP_PORT"
	else
		echo "statsd-exporter: process $pid runs but does not answer on 127.0.0.1:$WEB_PORT; see $LOGFILE"
		return 1
	fi
}

# cmd_env: where Airflow sends its StatsD lines (airflow.sh reads it).
cmd_env() { env_line STORECAST_STATSD_PORT "$UDP_PORT"; }

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
install) cmd_install ;;
*) die "usage: $0 {up|down|status|env|install}" ;;
esac
