#!/usr/bin/env bash
# with-env.sh CMD [ARGS...]: run CMD with the stack's environment
# ($STORECAST_STATE_DIR/env, written by `stack.sh up`) when it exists.
# Variables already set in the environment win over the file, so an
# external STORECAST_PG_DSN or a different STORECAST_BROKERS stays in force.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
env_file="${STORECAST_STATE_DIR:-$repo/.state}/env"
if [[ -f "$env_file" ]]; then
	while IFS= read -r line; do
		if [[ "$line" =~ ^export\ ([A-Za-z_][A-Za-z0-9_]*)=\'([^\']*)\'$ ]]; then
			name="${BASH_REMATCH[1]}"
			if [[ -z "${!name+set}" ]]; then
				export "$name=${BASH_REMATCH[2]}"
			fi
		fi
	done <"$env_file"
fi
exec "$@"
