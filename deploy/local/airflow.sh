#!/usr/bin/env bash
# airflow.sh {up|down|status|env|login}: Airflow 3 (airflow/.venv, made by uv from
# airflow/uv.lock) with the DAG train_predict_to_db: the API server and UI on
# 127.0.0.1:8080, the scheduler (LocalExecutor) and the DAG processor. No
# triggerer: the DAG's sensors run in reschedule mode.
#
# Environment (defaults):
#   STORECAST_AIRFLOW_PORT         8080  API server and UI on 127.0.0.1
#   STORECAST_AIRFLOW_PARALLELISM  2     task instances running at once (LocalExecutor workers)
#   STORECAST_AIRFLOW_UNPAUSE      0     1: unpause train_predict_to_db on `up` (it is created paused)
#   STORECAST_AIRFLOW_DB           storecast_airflow  metadata database, and the name of its owner role
#   STORECAST_PG_ADMIN_DSN         from .state/env: creates the metadata database and the roles
#   STORECAST_API_TOKEN            from .state/env: the bearer token of the Storecast APIs
#   STORECAST_FORECAST_ADDR        127.0.0.1:4242  forecast API the DAG calls
#   STORECAST_TRAIN_ADDR           127.0.0.1:4243  training API the DAG calls
#   STORECAST_STATSD_PORT          9125  UDP port on 127.0.0.1 the components send StatsD
#                                        metrics to (statsd-exporter.sh)
#   STORECAST_STATE_DIR            <repo>/.state
#
# PostgreSQL: the metadata lives in the database $STORECAST_AIRFLOW_DB, owned by
# the role of the same name; the DAG reads rossman_sales and forecast_results
# as <db>_reader (a member of the sink's read-only role storecast_reader).
# Both passwords are random, generated on first start.
#
# State: $STATE_DIR/airflow (AIRFLOW_HOME: the admin password, the secrets,
# the generated connections file; all mode 600), pids in
# $STATE_DIR/run/airflow-*.pid, logs in $STATE_DIR/logs/airflow-*.log and the
# task logs in $STATE_DIR/logs/airflow/.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The stack's environment (.state/env: the admin DSN, the API token), also
# when stack.sh runs this script before make has exported it; variables
# already set win.
if [[ -z "${_AIRFLOW_SH_ENV_LOADED:-}" ]]; then
	export _AIRFLOW_SH_ENV_LOADED=1
	exec "$LOCAL_DIR/with-env.sh" "$LOCAL_DIR/airflow.sh" "$@"
fi

PORT="${STORECAST_AIRFLOW_PORT:-8080}"
PARALLELISM="${STORECAST_AIRFLOW_PARALLELISM:-2}"
UNPAUSE="${STORECAST_AIRFLOW_UNPAUSE:-0}"
DB="${STORECAST_AIRFLOW_DB:-storecast_airflow}"
READER="${DB}_reader"
FORECAST_ADDR="${STORECAST_FORECAST_ADDR:-127.0.0.1:4242}"
TRAIN_ADDR="${STORECAST_TRAIN_ADDR:-127.0.0.1:4243}"
STATSD_PORT="${STORECAST_STATSD_PORT:-9125}"
URL="http://127.0.0.1:$PORT"
PROJECT="$REPO_DIR/airflow"
VENV="$PROJECT/.venv"
AIRFLOW="$VENV/bin/airflow"
HOME_DIR="$STATE_DIR/airflow"
ADMIN_PW="$HOME_DIR/admin.password"
PASSWORDS="$HOME_DIR/simple-auth-passwords.json"
DB_PW="$HOME_DIR/db.password"
READER_PW="$HOME_DIR/reader.password"
JWT_SECRET="$HOME_DIR/jwt.secret"
API_SECRET="$HOME_DIR/api.secret"
FERNET="$HOME_DIR/fernet.key"
CONNECTIONS="$HOME_DIR/connections.json"
DAG_ID=train_predict_to_db
# Started in this order, stopped in reverse.
COMPONENTS=(api-server scheduler dag-processor)

# ensure_venv: airflow/.venv from airflow/uv.lock (Airflow 3.0 with its constraints for Python 3.11).
ensure_venv() { uv_venv airflow "$PROJECT" "$AIRFLOW"; }

# admin_dsn: the DSN of a role that may create databases and roles.
admin_dsn() {
	local dsn="${STORECAST_PG_ADMIN_DSN:-}"
	[[ -n "$dsn" ]] || die "airflow: STORECAST_PG_ADMIN_DSN is not set; start the stack first (deploy/local/stack.sh up writes it to .state/env)"
	echo "$dsn"
}

# dsn_part DSN PART: host, port or dbname of a postgres:// DSN.
dsn_part() {
	python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print({"host": p.hostname or "127.0.0.1", "port": p.port or 5432, "dbname": p.path.lstrip("/")}[sys.argv[2]])' "$1" "$2"
}

# secrets: every secret of this service, generated once (mode 600).
secrets() {
	mkdir -p "$HOME_DIR"
	chmod 700 "$HOME_DIR"
	write_secret "$ADMIN_PW"
	write_secret "$DB_PW"
	write_secret "$READER_PW"
	write_secret "$JWT_SECRET"
	write_secret "$API_SECRET"
	if [[ ! -s "$FERNET" ]]; then
		(
			umask 077
			"$VENV/bin/python" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' >"$FERNET"
		)
	fi
	# The simple auth manager's user file: one admin with our random password.
	(
		umask 077
		printf '{"admin": "%s"}\n' "$(cat "$ADMIN_PW")" >"$PASSWORDS"
	)
}

# provision_db: the metadata database and its owner, the read-only role of
# the DAG (idempotent; passwords are re-applied on every start).
provision_db() {
	local dsn
	dsn="$(admin_dsn)"
	PGOPTIONS="-c client_min_messages=warning" PGCONNECT_TIMEOUT=10 psql -X -q -v ON_ERROR_STOP=1 "$dsn" -v db="$DB" -v reader="$READER" \
		-v pw="$(cat "$DB_PW")" -v rpw="$(cat "$READER_PW")" >/dev/null <<'EOF' || die "airflow: could not create the database $DB and its roles with STORECAST_PG_ADMIN_DSN"
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'db', :'pw')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'db') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'db', :'pw') \gexec
SELECT format('GRANT %I TO CURRENT_USER', :'db') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'db')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'reader', :'rpw')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'reader') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'reader', :'rpw') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'reader') \gexec
SELECT format('GRANT storecast_reader TO %I', :'reader')
WHERE EXISTS (SELECT FROM pg_roles WHERE rolname = 'storecast_reader') \gexec
EOF
}

# airflow_env: the configuration every component and CLI call shares.
airflow_env() {
	local dsn host port
	dsn="$(admin_dsn)"
	host="$(dsn_part "$dsn" host)"
	port="$(dsn_part "$dsn" port)"
	export AIRFLOW_HOME="$HOME_DIR"
	export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://$DB:$(cat "$DB_PW")@$host:$port/$DB"
	export AIRFLOW__CORE__EXECUTOR=LocalExecutor
	export AIRFLOW__CORE__PARALLELISM="$PARALLELISM"
	export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG="$PARALLELISM"
	export AIRFLOW__CORE__DAGS_FOLDER="$PROJECT/dags"
	export AIRFLOW__CORE__LOAD_EXAMPLES=False
	export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
	export AIRFLOW__CORE__FERNET_KEY="$(cat "$FERNET")"
	export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin
	export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$PASSWORDS"
	export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="$URL/execution/"
	export AIRFLOW__API__HOST=127.0.0.1
	export AIRFLOW__API__PORT="$PORT"
	export AIRFLOW__API__BASE_URL="$URL"
	export AIRFLOW__API__WORKERS=1
	export AIRFLOW__API__SECRET_KEY="$(cat "$API_SECRET")"
	export AIRFLOW__API_AUTH__JWT_SECRET="$(cat "$JWT_SECRET")"
	export AIRFLOW__LOGGING__BASE_LOG_FOLDER="$LOG_DIR/airflow"
	export AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY="$LOG_DIR/airflow/dag-processor"
	export AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES=1
	export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=60
	export AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL=60
	export AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK=False
	export AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR=True
	# StatsD metrics to the stack's statsd_exporter (statsd-exporter.sh; Prometheus
	# job airflow). UDP: nothing blocks or fails when the exporter is down.
	export AIRFLOW__METRICS__STATSD_ON=True
	export AIRFLOW__METRICS__STATSD_HOST=127.0.0.1
	export AIRFLOW__METRICS__STATSD_PORT="$STATSD_PORT"
	export AIRFLOW__METRICS__STATSD_PREFIX=airflow
	# Loopback only: never phone home.
	export SCARF_ANALYTICS=false
	export AIRFLOW__USAGE_DATA_COLLECTION__ENABLED=False
	unset PYTHONPATH
}

# write_connections: the DAG's connections from the stack's environment
# (never committed): Storecast's APIs with the token, the read-only sales
# database, Airflow's own API for run notes.
write_connections() {
	local dsn host port db token
	dsn="$(admin_dsn)"
	host="$(dsn_part "$dsn" host)"
	port="$(dsn_part "$dsn" port)"
	db="$(dsn_part "$dsn" dbname)"
	token="${STORECAST_API_TOKEN:-}"
	[[ -n "$token" ]] || token="$(cat "$STATE_DIR/api-token" 2>/dev/null || true)"
	[[ -n "$token" ]] || log "airflow: no STORECAST_API_TOKEN (serve.sh writes .state/api-token): the DAG's POST calls will answer 401"
	(
		umask 077
		"$VENV/bin/python" - "$CONNECTIONS" <<EOF
import json, sys
def http(addr, password="", login=""):
    host, port = addr.rsplit(":", 1)
    return {"conn_type": "http", "schema": "http", "host": host, "port": int(port), "login": login, "password": password}
conns = {
    "storecast_train_api": http("$TRAIN_ADDR", "$token"),
    "storecast_forecast_api": http("$FORECAST_ADDR", "$token"),
    "storecast_airflow_api": http("127.0.0.1:$PORT", "$(cat "$ADMIN_PW")", "admin"),
    "storecast_sales_reader": {"conn_type": "postgres", "host": "$host", "port": int("$port"), "schema": "$db",
                               "login": "$READER", "password": "$(cat "$READER_PW")"},
}
json.dump(conns, open(sys.argv[1], "w"), indent=2)
EOF
	)
	"$AIRFLOW" connections import --overwrite "$CONNECTIONS" >>"$LOG_DIR/airflow-cli.log" 2>&1 || die "airflow: importing the connections failed; see $LOG_DIR/airflow-cli.log"
}

pidfile() { echo "$RUN_DIR/airflow-$1.pid"; }
logfile() { echo "$LOG_DIR/airflow-$1.log"; }
# needle COMPONENT: a substring of the component's command line (the API
# server renames its process).
needle() {
	case "$1" in
	api-server) echo "airflow api_server -- host:127.0.0.1 port:$PORT" ;;
	*) echo "$AIRFLOW $1" ;;
	esac
}

component_pid() {
	local pid
	pid="$(read_pid "$(pidfile "$1")")"
	if pid_matches "$pid" "$(needle "$1")"; then echo "$pid"; fi
}

# health: the API server answers and reports the metadatabase healthy.
health() { curl -fsS --max-time 3 "$URL/api/v2/monitor/health" 2>/dev/null; }
api_healthy() { health | grep -q '"metadatabase":{"status":"healthy"'; }
scheduler_healthy() { health | grep -q '"scheduler":{"status":"healthy"'; }
dag_processor_healthy() { health | grep -q '"dag_processor":{"status":"healthy"'; }
# api_get PATH: GET $URL/api/v2/PATH as admin (a JWT from /auth/token).
api_get() {
	local token
	token="$(curl -fsS --max-time 10 -H 'Content-Type: application/json' \
		-d "{\"username\":\"admin\",\"password\":\"$(cat "$ADMIN_PW")\"}" "$URL/auth/token" |
		sed -nE 's/.*"access_token": *"([^"]+)".*/\1/p')"
	[[ -n "$token" ]] || return 1
	curl -fsS --max-time 10 -H "Authorization: Bearer $token" "$URL/api/v2/$1"
}
# dag_listed: the DAG processor has parsed the DAG (the API knows it).
dag_listed() { api_get "dags/$DAG_ID" >/dev/null 2>&1; }

# start_component NAME CHECK [ARGS...]: `airflow NAME ARGS...` unless it runs.
start_component() {
	local c="$1" check="$2" pid
	shift 2
	pid="$(component_pid "$c")"
	if [[ -n "$pid" ]]; then
		wait_until "airflow $c" "$STARTUP_TIMEOUT" "$(logfile "$c")" "$pid" "$check"
		return 0
	fi
	log "airflow: starting $c"
	# setsid: the component outlives the shell (and the make job) that started it.
	setsid "$AIRFLOW" "$c" "$@" </dev/null >>"$(logfile "$c")" 2>&1 &
	pid=$!
	echo "$pid" >"$(pidfile "$c")"
	wait_until "airflow $c" "$STARTUP_TIMEOUT" "$(logfile "$c")" "$pid" "$check"
}

cmd_up() {
	if [[ -z "$(component_pid api-server)" ]]; then
		require_free_port airflow "$PORT" STORECAST_AIRFLOW_PORT
	fi
	ensure_venv
	secrets
	provision_db
	airflow_env
	log "airflow: migrating the metadata database ($DB)"
	"$AIRFLOW" db migrate >>"$LOG_DIR/airflow-cli.log" 2>&1 || die "airflow: db migrate failed; see $LOG_DIR/airflow-cli.log"
	write_connections
	mkdir -p "$LOG_DIR/airflow"
	start_component api-server api_healthy
	# No log server: it would listen on every interface (8793), and the API
	# server reads the task logs from $LOG_DIR/airflow on this machine anyway.
	start_component scheduler scheduler_healthy --skip-serve-logs
	start_component dag-processor dag_processor_healthy
	wait_until "airflow dag-processor" "$STARTUP_TIMEOUT" "$(logfile dag-processor)" "$(component_pid dag-processor)" dag_listed
	if [[ "$UNPAUSE" == 1 ]]; then
		"$AIRFLOW" dags unpause "$DAG_ID" >>"$LOG_DIR/airflow-cli.log" 2>&1 || die "airflow: dags unpause failed"
	fi
	log "airflow: up on $URL (UI and /api/v2), DAG $DAG_ID listed ($(paused_word)); logs $LOG_DIR/airflow-*.log"
	log "airflow: login admin / $(cat "$ADMIN_PW") (also in $ADMIN_PW)"
}

paused_word() {
	if api_get "dags/$DAG_ID" 2>/dev/null | grep -q '"is_paused": *true'; then
		echo "paused: unpause it in the UI or with STORECAST_AIRFLOW_UNPAUSE=1"
	else
		echo "unpaused"
	fi
}

cmd_down() {
	local i c pid
	for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
		c="${COMPONENTS[i]}"
		pid="$(component_pid "$c")"
		# The component's own children (gunicorn/uvicorn workers, executor
		# processes) share its process group (setsid made it the leader).
		if [[ -n "$pid" ]]; then kill -TERM -- "-$pid" 2>/dev/null || true; fi
		stop_pid "airflow $c" "$(pidfile "$c")" "$(needle "$c")" 30
		if [[ -n "$pid" ]]; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
	done
}

cmd_status() {
	local c pid pids=() stopped=0
	for c in "${COMPONENTS[@]}"; do
		pid="$(component_pid "$c")"
		if [[ -n "$pid" ]]; then pids+=("$c $pid"); else stopped=$((stopped + 1)); fi
	done
	if ((stopped == ${#COMPONENTS[@]})); then
		echo "airflow: stopped"
		return 3
	fi
	local conns=""
	[[ -f "$CONNECTIONS" ]] && conns="$(python3 -c 'import json, sys; print(",".join(sorted(json.load(open(sys.argv[1])))))' "$CONNECTIONS" 2>/dev/null || true)"
	if ((stopped == 0)) && api_healthy && scheduler_healthy; then
		echo "airflow: running ($(
			IFS=,
			echo "${pids[*]}"
		)) on $URL, login admin (password in $ADMIN_PW); connections: $conns"
	else
		echo "airflow: not healthy (running: ${pids[*]:-none}; health: $(health || echo 'no answer')); see $LOG_DIR/airflow-*.log"
		return 1
	fi
}

cmd_env() { env_line STORECAST_AIRFLOW_URL "$URL"; }

# cmd_login: where the UI is and the admin login, when Airflow runs.
cmd_login() {
	[[ -n "$(component_pid api-server)" && -s "$ADMIN_PW" ]] || return 0
	echo "airflow: UI $URL, login admin / $(cat "$ADMIN_PW") (DAG train_predict_to_db; see README 'Orchestration')"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
login) cmd_login ;;
*) die "usage: $0 {up|down|status|env|login}" ;;
esac
