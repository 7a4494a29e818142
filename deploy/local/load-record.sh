#!/usr/bin/env bash
# load-record.sh [FILE]: record what the stack's load left: the
# training_examples checksum and the dead letters of sale_rossman_store.dlq
# (`storecast topics checksum --json`), with the date, the commit of the
# working tree, the data `make up` loaded and the Kafka cluster id (new
# after `make reset`). Prints the record, appends it to FILE (default
# bench/results/load_checksum.json, a JSON list) and compares it with the
# earlier records of the same data: "same" or "DIFFERS".
#
# `make load-record` runs it; run it after each of two fresh loads
# (`make reset; make up DATA=...`) to show that the same log gives the same
# state: equal sha256, empty DLQ.
#
# Environment: STORECAST_BROKERS (.state/env), STORECAST_BIN.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FILE="${1:-$REPO_DIR/bench/results/load_checksum.json}"
BIN="${STORECAST_BIN:-$REPO_DIR/bin/storecast}"
BROKERS="${STORECAST_BROKERS:-127.0.0.1:${STORECAST_KAFKA_PORT:-9092}}"
[[ -x "$BIN" ]] || die "load-record: $BIN is missing ('make build')"

data="$(head -n1 "$STATE_DIR/kafka/demo-data.loaded" 2>/dev/null || echo unknown)"
cluster="$(cat "$STATE_DIR/kafka/cluster.id" 2>/dev/null || echo unknown)"
commit="$(git -C "$REPO_DIR" rev-parse HEAD 2>/dev/null || echo unknown)"
# Uncommitted changes to tracked files: the commit alone does not name the code.
if [[ -n "$(git -C "$REPO_DIR" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then commit="$commit+dirty"; fi
# `storecast --version` ends in "(feature schema f3)" (cmd/storecast/version_test.go).
schema="$("$BIN" --version | sed -n 's/.*(feature schema \([a-z0-9]*\))$/\1/p')"
[[ -n "$schema" ]] || die "load-record: '$BIN --version' names no feature schema"
digests="$("$BIN" --brokers "$BROKERS" topics checksum --json training_examples sale_rossman_store.dlq)" ||
	die "load-record: storecast topics checksum failed: $digests"

mkdir -p "$(dirname "$FILE")"
python3 - "$FILE" "$data" "$cluster" "$commit" "$schema" "$digests" <<'EOF'
import datetime, json, os, sys

path, data, cluster, commit, schema, digests = sys.argv[1:7]
d = {x["topic"]: x for x in map(json.loads, digests.splitlines())}
ex, dlq = d["training_examples"], d["sale_rossman_store.dlq"]
rec = {
    "when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "commit": commit,
    "data": data,
    "feature_schema": schema,
    "kafka_cluster_id": cluster,
    "training_examples": {"keys": ex["keys"], "records": ex["records"], "sha256": ex["sha256"]},
    "dlq_records": dlq["records"],
}
runs = []
if os.path.exists(path):
    with open(path) as f:
        runs = json.load(f)
same = [r for r in runs if r["data"] == data and r.get("feature_schema") == schema]
others = len([r for r in runs if r["data"] == data]) - len(same)
print(json.dumps(rec, indent=2))
print(f"training_examples sha256={ex['sha256']} keys={ex['keys']}; sale_rossman_store.dlq records={dlq['records']}")
for r in same:
    verdict = "same" if r["training_examples"]["sha256"] == ex["sha256"] else "DIFFERS"
    print(f"{verdict} as the load of {r['when']} (cluster {r['kafka_cluster_id']}, commit {r['commit'][:8]})")
if others:
    print(f"not compared: {others} earlier load(s) of the same data with another or unrecorded feature schema")
runs.append(rec)
with open(path, "w") as f:
    json.dump(runs, f, indent=2)
    f.write("\n")
print(f"recorded in {path}")
EOF
