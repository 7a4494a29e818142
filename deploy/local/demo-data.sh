#!/usr/bin/env bash
# demo-data.sh STORECAST_BIN [DATA_DIR] [-- PRODUCE_FLAGS...]: load demo data
# into sale_rossman_store once per Kafka log folder.
#
# Without DATA_DIR: `storecast produce` (the synthetic generator). With
# DATA_DIR: `storecast produce --train DATA_DIR/train.csv --store
# DATA_DIR/store.csv` (a Kaggle download). A marker next to Kafka's data
# remembers what was loaded, so `make up` can run again without appending
# the same history twice; `make up` without DATA keeps whatever was loaded,
# and loading a different DATA into the same stream is refused (the two
# would mix).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bin="${1:?usage: demo-data.sh STORECAST_BIN [DATA_DIR] [-- PRODUCE_FLAGS...]}"
shift
data=""
if [[ $# -gt 0 && "$1" != "--" ]]; then
	data="$1"
	shift
fi
[[ "${1:-}" == "--" ]] && shift

marker="$STATE_DIR/kafka/demo-data.loaded"
args=(produce)
if [[ -n "$data" ]]; then
	[[ -d "$data" ]] || die "demo data: folder '$data' not found"
	data="$(cd "$data" && pwd)"
	for f in train.csv store.csv; do
		[[ -f "$data/$f" ]] || die "demo data: $data/$f not found (DATA must be a folder holding Kaggle's train.csv and store.csv)"
	done
	source_id="kaggle:$data"
	args+=(--train "$data/train.csv" --store "$data/store.csv")
else
	source_id="synthetic"
fi
args+=("$@")

if [[ -f "$marker" ]]; then
	loaded="$(head -n1 "$marker")"
	if [[ "$loaded" == "$source_id" ]]; then
		log "demo data: already loaded ($loaded); skipping"
		exit 0
	fi
	if [[ -z "$data" ]]; then
		# Plain `make up` after `make up DATA=...`: keep what is there.
		log "demo data: the stream holds '$loaded'; not adding synthetic data"
		exit 0
	fi
	die "demo data: the stream already holds '$loaded'; loading '$source_id' on top would mix them. Run 'make reset' (deletes the local Kafka and PostgreSQL data) and 'make up' again."
fi

log "demo data: $bin ${args[*]}"
"$bin" "${args[@]}"
mkdir -p "$(dirname "$marker")"
printf '%s\n' "$source_id" >"$marker"
