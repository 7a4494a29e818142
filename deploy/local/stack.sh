#!/usr/bin/env bash
# stack.sh {up|down|status}: Storecast's local stack, without Docker.
#
#   up      start every service that is not running, wait until each
#           answers, write $STATE_DIR/env, print where each listens
#   down    stop what this stack started (pid files / its own data dirs),
#           in reverse order
#   status  one line per service; exit 0 only when all answer
#
# Services are the scripts deploy/local/<name>.sh, each with the verbs
# up|down|status|env (see lib.sh). To add one (mlflow, the Go services, ...):
#   1. write deploy/local/<name>.sh on the model of kafka.sh (pid file under
#      $RUN_DIR, log under $LOG_DIR, wait for a real request, print where it
#      listens, `env` prints its export lines);
#   2. add <name> to CORE (needed before .state/env is written: brokers and
#      databases) or to APPS (started after; may read .state/env).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Started in this order, stopped in reverse.
CORE=(kafka postgres)
APPS=(mlflow trainer) # then the Go services (storecast process/sink/serve)

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
			for s in "${CORE[@]}" "${APPS[@]}"; do run "$s" env; done
		} >"$tmp"
	)
	mv "$tmp" "$ENV_FILE"
}

cmd_up() {
	local s
	for s in "${CORE[@]}"; do run "$s" up; done
	write_env
	for s in "${APPS[@]}"; do run "$s" up; done
	if ((${#APPS[@]})); then write_env; fi
	echo "stack: up; environment in $ENV_FILE (source it), logs in $LOG_DIR"
	for s in "${CORE[@]}" "${APPS[@]}"; do run "$s" status || true; done
}

cmd_down() {
	local all=("${CORE[@]}" "${APPS[@]}") i rc=0
	for ((i = ${#all[@]} - 1; i >= 0; i--)); do
		run "${all[i]}" down || rc=1
	done
	return "$rc"
}

cmd_status() {
	local s rc=0
	for s in "${CORE[@]}" "${APPS[@]}"; do run "$s" status || rc=1; done
	[[ -f "$ENV_FILE" ]] && echo "env: $ENV_FILE"
	return "$rc"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*) die "usage: $0 {up|down|status}" ;;
esac
