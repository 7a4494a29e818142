#!/usr/bin/env bash
# prometheus.sh {up|down|status|env|targets}: monitoring of the local stack, from
# Debian's packages: Prometheus (scrape config and alert rules from
# deploy/prometheus/), the node exporter (host) and the PostgreSQL exporter.
# The broker's metrics come from the JMX exporter agent in Kafka's JVM
# (kafka.sh); consumer-group lag from the Go services themselves.
#
# Environment (defaults):
#   STORECAST_PROMETHEUS_PORT       9090  Prometheus on 127.0.0.1
#   STORECAST_PROMETHEUS_RETENTION  7d    how long Prometheus keeps samples
#   STORECAST_NODE_EXPORTER_PORT    9100  node exporter on 127.0.0.1
#   STORECAST_PG_EXPORTER_PORT      9187  PostgreSQL exporter on 127.0.0.1
#   STORECAST_KAFKA_JMX_PORT        7071  the broker's JMX exporter (kafka.sh)
#   STORECAST_PG_ADMIN_DSN          (.state/env) what the PostgreSQL exporter reads
#   STORECAST_STATE_DIR             <repo>/.state
#
# The scrape targets are deploy/prometheus/prometheus.yml with the stack's
# addresses put in (every STORECAST_*_ADDR/_PORT above and of the other
# scripts), written to $STATE_DIR/prometheus/prometheus.yml on every start.
#
# `targets [--wait SECONDS]` prints every long-running scrape target that is
# not up (and waits up to SECONDS for them); exit 1 when one stays down.
# `make up` ends with it; `status` shows it.
#
# State: $STATE_DIR/prometheus/{data,prometheus.yml}, pid files in
# $STATE_DIR/run/{prometheus,node-exporter,postgres-exporter}.pid, logs in
# $STATE_DIR/logs/{prometheus,node-exporter,postgres-exporter}.log.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The stack's environment (STORECAST_PG_ADMIN_DSN, the services' addresses):
# run again through with-env.sh, once.
if [[ -z "${PROMETHEUS_SH_ENV_LOADED:-}" ]]; then
	PROMETHEUS_SH_ENV_LOADED=1 STORECAST_STATE_DIR="$STATE_DIR" exec "$LOCAL_DIR/with-env.sh" "$0" "$@"
fi

PROM_PORT="${STORECAST_PROMETHEUS_PORT:-9090}"
RETENTION="${STORECAST_PROMETHEUS_RETENTION:-7d}"
NODE_PORT="${STORECAST_NODE_EXPORTER_PORT:-9100}"
PGX_PORT="${STORECAST_PG_EXPORTER_PORT:-9187}"
PROM_DIR="$STATE_DIR/prometheus"
CONFIG_SRC="$REPO_DIR/deploy/prometheus/prometheus.yml"
RULES_DIR="$REPO_DIR/deploy/prometheus/rules"
CONFIG="$PROM_DIR/prometheus.yml"

# need_binary NAME PACKAGE: fail with the package to install when missing.
need_binary() {
	command -v "$1" >/dev/null || die "prometheus: $1 not found; install Debian's $2 (apt-get install -y --no-install-recommends $2; .ci/run does)"
}

# render_config: the repository's scrape config with this stack's
# addresses (the defaults in the file are replaced by the configured ones)
# and the rule files by absolute path.
render_config() {
	mkdir -p "$PROM_DIR"
	local tmp="$CONFIG.tmp"
	sed \
		-e "s#127.0.0.1:9090#127.0.0.1:$PROM_PORT#" \
		-e "s#127.0.0.1:9100#127.0.0.1:$NODE_PORT#" \
		-e "s#127.0.0.1:9187#127.0.0.1:$PGX_PORT#" \
		-e "s#127.0.0.1:7071#127.0.0.1:${STORECAST_KAFKA_JMX_PORT:-7071}#" \
		-e "s#127.0.0.1:9101#${STORECAST_PRODUCE_METRICS_ADDR:-127.0.0.1:9101}#" \
		-e "s#127.0.0.1:9102#${STORECAST_SINK_METRICS_ADDR:-127.0.0.1:9102}#" \
		-e "s#127.0.0.1:9103#${STORECAST_PROCESS_METRICS_ADDR:-127.0.0.1:9103}#" \
		-e "s#127.0.0.1:9104#${STORECAST_TRAINER_METRICS_ADDR:-127.0.0.1:9104}#" \
		-e "s#127.0.0.1:4242#${STORECAST_FORECAST_ADDR:-127.0.0.1:4242}#" \
		-e "s#127.0.0.1:4243#${STORECAST_TRAIN_ADDR:-127.0.0.1:4243}#" \
		-e "s#127.0.0.1:5050#127.0.0.1:${STORECAST_MLFLOW_PORT:-5050}#" \
		-e "s#127.0.0.1:9105#127.0.0.1:${STORECAST_STATSD_EXPORTER_PORT:-9105}#" \
		-e "s#^  - rules/#  - $RULES_DIR/#" \
		"$CONFIG_SRC" >"$tmp"
	mv "$tmp" "$CONFIG"
}

# The three daemons: name, pid file, log file, command-line needle, check.
prom_ready() { curl -fsS --max-time 3 "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null; }
node_ready() { http_ok "http://127.0.0.1:$NODE_PORT/metrics"; }
pgx_ready() { http_ok "http://127.0.0.1:$PGX_PORT/metrics"; }

# daemon_up NAME PORT VAR CHECK -- CMD...: start CMD (its own session) unless
# NAME already runs, and wait until CHECK succeeds. The needle that
# identifies the process is its listen address, 127.0.0.1:PORT.
daemon_up() {
	local name="$1" port="$2" var="$3" check="$4" pid
	shift 4
	[[ "${1:-}" == "--" ]] && shift
	local pidfile="$RUN_DIR/$name.pid" logfile="$LOG_DIR/$name.log" needle="127.0.0.1:$port"
	pid="$(read_pid "$pidfile")"
	if pid_matches "$pid" "$needle"; then
		wait_until "$name" "$STARTUP_TIMEOUT" "$logfile" "$pid" "$check"
		log "$name: already running (pid $pid) on http://$needle"
		return 0
	fi
	require_free_port "$name" "$port" "$var"
	log "$name: starting $1"
	# setsid: the daemon outlives the shell (and the make job) that started it.
	setsid "$@" </dev/null >>"$logfile" 2>&1 &
	pid=$!
	echo "$pid" >"$pidfile"
	wait_until "$name" "$STARTUP_TIMEOUT" "$logfile" "$pid" "$check"
	log "$name: up (pid $pid) on http://$needle; logs $logfile"
}

daemon_status() {
	local name="$1" port="$2" check="$3" pid
	pid="$(read_pid "$RUN_DIR/$name.pid")"
	if ! pid_matches "$pid" "127.0.0.1:$port"; then
		echo "$name: stopped"
		return 3
	fi
	if "$check"; then
		echo "$name: running (pid $pid) on http://127.0.0.1:$port"
	else
		echo "$name: process $pid runs but does not answer on 127.0.0.1:$port; see $LOG_DIR/$name.log"
		return 1
	fi
}

cmd_up() {
	need_binary prometheus prometheus
	need_binary prometheus-node-exporter prometheus-node-exporter
	need_binary prometheus-postgres-exporter prometheus-postgres-exporter
	daemon_up node-exporter "$NODE_PORT" STORECAST_NODE_EXPORTER_PORT node_ready -- \
		prometheus-node-exporter --web.listen-address="127.0.0.1:$NODE_PORT" \
		--collector.disable-defaults --collector.cpu --collector.meminfo --collector.loadavg \
		--collector.filesystem --collector.diskstats --collector.netdev --collector.pressure \
		--collector.stat --collector.uname --collector.time
	[[ -n "${STORECAST_PG_ADMIN_DSN:-}" ]] || die "postgres-exporter: STORECAST_PG_ADMIN_DSN is not set (stack.sh writes it to .state/env; run through with-env.sh)"
	DATA_SOURCE_NAME="$STORECAST_PG_ADMIN_DSN" daemon_up postgres-exporter "$PGX_PORT" STORECAST_PG_EXPORTER_PORT pgx_ready -- \
		prometheus-postgres-exporter --web.listen-address="127.0.0.1:$PGX_PORT" \
		--disable-settings-metrics
	render_config
	mkdir -p "$PROM_DIR/data"
	local pid
	pid="$(read_pid "$RUN_DIR/prometheus.pid")"
	if pid_matches "$pid" "127.0.0.1:$PROM_PORT"; then
		# Already running: load the freshly rendered config and rules.
		kill -HUP "$pid" 2>/dev/null || true
	fi
	daemon_up prometheus "$PROM_PORT" STORECAST_PROMETHEUS_PORT prom_ready -- \
		prometheus --config.file="$CONFIG" --storage.tsdb.path="$PROM_DIR/data" \
		--storage.tsdb.retention.time="$RETENTION" --web.listen-address="127.0.0.1:$PROM_PORT"
}

cmd_down() {
	stop_pid prometheus "$RUN_DIR/prometheus.pid" "127.0.0.1:$PROM_PORT" 30
	stop_pid postgres-exporter "$RUN_DIR/postgres-exporter.pid" "127.0.0.1:$PGX_PORT" 10
	stop_pid node-exporter "$RUN_DIR/node-exporter.pid" "127.0.0.1:$NODE_PORT" 10
}

cmd_status() {
	local rc=0 r
	for r in "node-exporter $NODE_PORT node_ready" "postgres-exporter $PGX_PORT pgx_ready" "prometheus $PROM_PORT prom_ready"; do
		# shellcheck disable=SC2086
		daemon_status $r || rc=$?
	done
	# Shown, not judged: after `make services` the Go services' and Airflow's
	# targets are down by design (`make up` judges them: `targets --wait`).
	if ((rc == 0)); then targets_report || true; fi
	return "$rc"
}

cmd_env() { env_line STORECAST_PROMETHEUS_URL "http://127.0.0.1:$PROM_PORT"; }

# targets_report: one line per long-running target that is not up (job,
# instance, health, last error) from Prometheus' /api/v1/targets, then a
# summary line; exit 0 when every one is up, 1 when one is down or not
# scraped yet, 2 when Prometheus does not answer. Targets labelled
# oneshot="true" (storecast produce) are left out.
targets_report() {
	local json
	json="$(curl -fsS --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/targets?state=active" 2>/dev/null)" || {
		echo "prometheus targets: Prometheus does not answer on 127.0.0.1:$PROM_PORT"
		return 2
	}
	python3 -c '
import json, sys
ts = [t for t in json.loads(sys.argv[1])["data"]["activeTargets"] if t["labels"].get("oneshot") != "true"]
if not ts:
    print("prometheus targets: none discovered yet")
    sys.exit(1)
bad = [t for t in ts if t["health"] != "up"]
for t in sorted(bad, key=lambda t: t["labels"]["job"]):
    why = t.get("lastError") or "not scraped yet"
    print("prometheus target down: job %s (%s): %s: %s" % (t["labels"]["job"], t["scrapeUrl"], t["health"], why))
up = sorted({t["labels"]["job"] for t in ts if t["health"] == "up"})
print("prometheus targets: %d of %d long-running targets up (%s)" % (len(ts) - len(bad), len(ts), ", ".join(up)))
sys.exit(1 if bad else 0)
' "$json"
}

# cmd_targets [--wait SECONDS]: targets_report, retried until every target
# is up or SECONDS (default 0) have passed (a target that just started needs
# one scrape interval, 15 s, to turn up).
cmd_targets() {
	local wait=0 rc out
	case "${1:-}" in
	"") ;;
	--wait) wait="${2:?--wait needs seconds}" ;;
	*) die "usage: $0 targets [--wait SECONDS]" ;;
	esac
	local deadline=$((SECONDS + wait))
	while :; do
		rc=0
		out="$(targets_report)" || rc=$?
		if ((rc == 0 || SECONDS >= deadline)); then break; fi
		sleep 2
	done
	printf '%s\n' "$out"
	return "$rc"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
targets) cmd_targets "${@:2}" ;;
*) die "usage: $0 {up|down|status|env|targets [--wait SECONDS]}" ;;
esac
