#!/usr/bin/env bash
# stack.sh {up [--all]|down|status}: Storecast's local stack, without Docker.
#
#   up        start every CORE and APPS service that is not running, wait
#             until each answers, write $STATE_DIR/env, print where each
#             listens (what `make test` needs: tests run their own
#             processors on per-test names)
#   up --all  also `storecast topics init` and the Go SERVICES (what
#             `make up` runs; needs bin/storecast from `make build`)
#   down      stop what this stack started (pid files / its own data dirs),
#             in reverse order, the Go services included
#   status    one line per service; exit 0 when CORE and APPS answer and
#             no Go service runs without answering
#
# Services are the scripts deploy/local/<name>.sh, each with the verbs
# up|down|status|env (see lib.sh). To add one (mlflow, the Go services, ...):
#   1. write deploy/local/<name>.sh on the model of kafka.sh (pid file under
#      $RUN_DIR, log under $LOG_DIR, wait for a real request, print where it
#      listens, `env` prints its export lines);
#   2. add <name> to CORE (needed before .state/env is written: brokers and
#      databases), to APPS (started after; may read .state/env) or to
#      SERVICES (started by `up --all` only, after the topics exist).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Started in this order, stopped in reverse.
CORE=(kafka postgres)
APPS=(mlflow trainer prometheus)
# The Go services (bin/storecast) and Airflow (its DAG calls them) with the
# exporter of its StatsD metrics, started by `up --all` after topics init.
SERVICES=(process sink serve statsd-exporter airflow)

ENV_FILE="$STATE_DIR/env"

run() { "$LOCAL_DIR/$1.sh" "$2"; }

# write_env: .state/env from every core service's `env`, written atomically
# (other engineers and tests poll for it) and readable by root only.
write_env() {
	local tmp="$ENV_FILE.tmp" s
	(
		umask 077
		{
			echo "# Written by deploy/local/stack.sh up; source it: . $ENV_FILE"
			env_line STORECAST_STATE_DIR "$STATE_DIR"
			for s in "${CORE[@]}" "${APPS[@]}" "${SERVICES[@]}"; do run "$s" env; done
		} >"$tmp"
	)
	mv "$tmp" "$ENV_FILE"
}

# topics_init: `storecast topics init` (idempotent) with the stack's env.
topics_init() {
	[[ -x "$STORECAST_BIN" ]] || die "topics: $STORECAST_BIN is missing; run 'make build' first"
	log "topics: storecast topics init"
	local out created t deadline=$((SECONDS + 60)) listed
	out="$(STORECAST_STATE_DIR="$STATE_DIR" "$LOCAL_DIR/with-env.sh" "$STORECAST_BIN" topics init)"
	printf '%s\n' "$out"
	# A topic just created can be missing from the next client's metadata
	# for a moment (the services fail on a missing topic): wait until the
	# broker lists every one.
	created="$(awk '$1 == "created" {print $2}' <<<"$out")"
	[[ -n "$created" ]] || return 0
	while :; do
		listed="$(STORECAST_STATE_DIR="$STATE_DIR" "$LOCAL_DIR/with-env.sh" "$STORECAST_BIN" topics list 2>/dev/null | awk 'NR > 1 {print $1}')"
		local missing=0
		for t in $created; do
			grep -qxF -- "$t" <<<"$listed" || missing=1
		done
		((missing == 0)) && return 0
		((SECONDS < deadline)) || die "topics: created topics not listed by the broker within 60s"
		sleep 0.5
	done
}

cmd_up() {
	local all=false s
	case "${1:-}" in
	"") ;;
	--all) all=true ;;
	*) die "usage: $0 up [--all]" ;;
	esac
	local started=("${CORE[@]}" "${APPS[@]}")
	for s in "${CORE[@]}"; do run "$s" up; done
	write_env
	for s in "${APPS[@]}"; do run "$s" up; done
	if $all; then
		topics_init
		for s in "${SERVICES[@]}"; do run "$s" up; done
		started+=("${SERVICES[@]}")
	fi
	write_env
	echo "stack: up; environment in $ENV_FILE (source it), logs in $LOG_DIR"
	for s in "${started[@]}"; do run "$s" status || true; done
}

cmd_down() {
	local all=("${CORE[@]}" "${APPS[@]}" "${SERVICES[@]}") i rc=0
	for ((i = ${#all[@]} - 1; i >= 0; i--)); do
		run "${all[i]}" down || rc=1
	done
	return "$rc"
}

cmd_status() {
	local s rc=0 src
	for s in "${CORE[@]}" "${APPS[@]}"; do run "$s" status || rc=1; done
	# The Go services are optional (`make services` does not start them).
	for s in "${SERVICES[@]}"; do
		src=0
		run "$s" status || src=$?
		if ((src != 0 && src != 3)); then rc=1; fi
	done
	[[ -f "$ENV_FILE" ]] && echo "env: $ENV_FILE"
	return "$rc"
}

case "${1:-}" in
up) cmd_up "${@:2}" ;;
down) cmd_down ;;
status) cmd_status ;;
*) die "usage: $0 {up [--all]|down|status}" ;;
esac
