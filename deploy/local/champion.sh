#!/usr/bin/env bash
# champion.sh: the last step of `make up`: make sure a trained champion is
# served by `storecast serve`.
#
#   1. wait until the features processor has caught up with the sales
#      stream (its consumer group's lag on sale_rossman_store is 0 twice in
#      a row), so the training examples cover every day loaded;
#   2. wait until the forecast API has read the models topic; when it
#      already serves a model (GET /ready answers 200), stop here: `make up`
#      is idempotent and never retrains;
#   3. POST /train {} (the whole range of data, the chain model) with the
#      API token, then poll GET /train/{id}?wait=... until the trainer
#      reports succeeded or failed, printing progress;
#   4. wait until GET /ready answers 200 and print a sample /predict;
#   5. warn when MLflow's champion is not the served version (/model/info
#      registry.in_step), naming the refusal and the fix;
#   6. print the training_examples checksum and the dead letters of
#      sale_rossman_store.dlq (`storecast topics checksum`): two fresh loads
#      of the same data print the same checksum.
#
# Environment (defaults):
#   STORECAST_CATCHUP_TIMEOUT  1800  seconds the features processor gets to catch up
#   STORECAST_TRAIN_TIMEOUT    3600  seconds training gets (the full data: minutes)
#   STORECAST_FORECAST_ADDR, STORECAST_TRAIN_ADDR, STORECAST_API_TOKEN,
#   STORECAST_BROKERS: as in serve.sh and .state/env
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FORECAST="http://${STORECAST_FORECAST_ADDR:-127.0.0.1:4242}"
TRAIN="http://${STORECAST_TRAIN_ADDR:-127.0.0.1:4243}"
BROKERS="${STORECAST_BROKERS:-127.0.0.1:${STORECAST_KAFKA_PORT:-9092}}"
CATCHUP_TIMEOUT="${STORECAST_CATCHUP_TIMEOUT:-1800}"
TRAIN_TIMEOUT="${STORECAST_TRAIN_TIMEOUT:-3600}"
PYTHON="$REPO_DIR/trainer/.venv/bin/python"
TOKEN="${STORECAST_API_TOKEN:-$(cat "$STATE_DIR/api-token" 2>/dev/null || true)}"
[[ -n "$TOKEN" ]] || die "champion: no API token (STORECAST_API_TOKEN or $STATE_DIR/api-token); run 'stack.sh up --all' first"
[[ -x "$PYTHON" ]] || die "champion: $PYTHON is missing (the trainer venv; mlflow.sh up makes it)"

t0=$SECONDS
elapsed() { printf '%ds' $((SECONDS - t0)); }

# json_field NAME: the first string or number value of "NAME" in stdin's JSON.
json_field() { sed -nE 's/.*"'"$1"'":"?([^",}]*)"?.*/\1/p' | head -n1; }

# json_get A.B.C: the value at that path of stdin's JSON object, or
# nothing; strings whole (errors quote and escape). The trainer venv's
# Python parses it.
json_get() {
	"$PYTHON" -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else json.dumps(v) if isinstance(v, bool) else v)' "$1" 2>/dev/null || true
}

# model_check_detail: the detail of /ready's "model" check in stdin's JSON.
model_check_detail() {
	"$PYTHON" -c 'import json, sys
print(next((c.get("detail", "") for c in json.load(sys.stdin).get("checks", []) if c.get("name") == "model"), ""))' 2>/dev/null || true
}

# 1. The features processor catches up.
wait_caught_up() {
	local deadline=$((SECONDS + CATCHUP_TIMEOUT)) lag zeros=0 last=-1
	while :; do
		lag="$("$PYTHON" "$LOCAL_DIR/group-lag.py" "$BROKERS" storecast-features sale_rossman_store 2>/dev/null || echo '?')"
		if [[ "$lag" == 0 ]]; then
			zeros=$((zeros + 1))
			# Twice: offsets are committed about every second, after the emits.
			if ((zeros >= 2)); then
				log "champion: features processor caught up with sale_rossman_store ($(elapsed))"
				wait_store_info
				return 0
			fi
		else
			zeros=0
			if [[ "$lag" != "$last" ]]; then
				log "champion: features processor: $lag sales still to process ($(elapsed))"
				last="$lag"
			fi
		fi
		((SECONDS < deadline)) || die "champion: the features processor did not catch up within ${CATCHUP_TIMEOUT}s (lag $lag); see $LOG_DIR/process.log"
		sleep 5
	done
}

# Sales of a store whose store_info the processor has not read yet wait in
# its state: wait (a little) until it has read store_info too.
wait_store_info() {
	local deadline=$((SECONDS + STARTUP_TIMEOUT)) lag
	while :; do
		lag="$("$PYTHON" "$LOCAL_DIR/group-lag.py" "$BROKERS" storecast-features store_info 2>/dev/null || echo '?')"
		[[ "$lag" == 0 ]] && return 0
		if ((SECONDS >= deadline)); then
			log "champion: warning: the features processor has $lag store_info records to read (an older 'storecast process'? 'make down && make up' restarts it); sales of those stores wait for them"
			return 0
		fi
		sleep 2
	done
}

# ready_fetch: GET /ready; its status in $ready_code, its body in $body.
ready_code="" body=""
ready_fetch() {
	local out
	out="$(curl -sS --max-time 5 -w '\n%{http_code}' "$FORECAST/ready" 2>/dev/null || true)"
	ready_code="${out##*$'\n'}"
	body="${out%$'\n'*}"
}

# 2. Does the API serve a model already? Waits until it has read the
# models topic and its views recovered; returns 0 when ready (a model served).
served() {
	local deadline=$((SECONDS + STARTUP_TIMEOUT))
	while :; do
		ready_fetch
		if [[ "$ready_code" == 200 ]]; then return 0; fi
		if [[ "$ready_code" == 503 && "$body" != *"still reading the models topic"* && "$body" != *"recovering"* ]]; then
			return 1
		fi
		((SECONDS < deadline)) || die "champion: $FORECAST/ready did not settle within ${STARTUP_TIMEOUT}s: $body"
		sleep 1
	done
}

# 3. Train on everything and wait for the result.
train() {
	local resp id deadline=$((SECONDS + TRAIN_TIMEOUT)) status last=""
	resp="$(curl -sS --max-time 30 -X POST "$TRAIN/train" \
		-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{}')" ||
		die "champion: POST $TRAIN/train failed"
	id="$(json_field request_id <<<"$resp")"
	[[ -n "$id" ]] || die "champion: POST /train answered: $resp"
	log "champion: training the chain model on all data (request $id; trainer log $LOG_DIR/trainer.log)"
	while :; do
		body="$(curl -sS --max-time 90 "$TRAIN/train/$id?wait=60s" || true)"
		status="$(json_field status <<<"$body")"
		case "$status" in
		succeeded)
			log "champion: trained ($(elapsed)): $body"
			[[ "$body" == *'"promoted":true'* ]] || not_promoted
			return 0
			;;
		failed) die "champion: training failed: $body" ;;
		esac
		if [[ "$status" != "$last" ]]; then
			log "champion: training ${status:-?} ($(elapsed))"
			last="$status"
		else
			log "champion: still ${status:-?} ($(elapsed))"
		fi
		((SECONDS < deadline)) || die "champion: no train result within ${TRAIN_TIMEOUT}s (last: $body); see $LOG_DIR/trainer.log"
	done
}

# The trainer kept the registry's champion (it validates better than the
# new model), yet serving has no model: say why, from /model/info.
not_promoted() {
	local info
	info="$(curl -sS --max-time 5 "$FORECAST/model/info" 2>/dev/null || true)"
	if [[ "$info" == *"was refused"* ]]; then
		die "champion: the trainer kept MLflow's champion (better than the new model), but serving refused it: $(json_get detail <<<"$info"). Fix that cause (MLflow at ${STORECAST_MLFLOW_TRACKING_URI:-http://127.0.0.1:5050} must serve the artifact; $LOG_DIR/serve.log), then 'deploy/local/serve.sh down; make up' (serving re-reads the models topic)"
	fi
	die "champion: the trainer kept MLflow's champion (better than the new model), but its model event is not on this Kafka log (the registry holds a model from other data): 'make reset' clears Kafka and the registry together; see $LOG_DIR/trainer.log"
}

# registry_check: warn when MLflow's champion is not the served version.
# Serving reads the registry every 30 s (views.RegistryWatch), so a model
# just loaded is compared only once a check newer than its offer ran:
# wait (bounded) for one before judging.
registry_check() {
	local info champion checked offered deadline=$((SECONDS + 45))
	while :; do
		info="$(curl -sS --max-time 5 "$FORECAST/model/info" 2>/dev/null || true)"
		checked="$(sed -nE 's/.*"registry":\{[^}]*"checked_at":"([^"]*)".*/\1/p' <<<"$info")"
		offered="$(sed -nE 's/.*"latest_offer":\{[^}]*"at":"([^"]*)".*/\1/p' <<<"$info")"
		[[ -n "$checked" && ! "$checked" < "$offered" ]] && break
		((SECONDS < deadline)) || break
		sleep 2
	done
	[[ "$info" == *'"in_step":false'* ]] || return 0
	champion="$(json_get registry.champion <<<"$info")"
	if [[ "$(json_get latest_offer.loaded <<<"$info")" == false ]]; then
		log "champion: warning: MLflow's champion is version ${champion:-?} but serving keeps version $(json_get version <<<"$info"): it refused the model event of version $(json_get latest_offer.version <<<"$info"): $(json_get latest_offer.error <<<"$info"). Fix the cause (MLflow at ${STORECAST_MLFLOW_TRACKING_URI:-http://127.0.0.1:5050} must serve that version's artifact as trained; $LOG_DIR/serve.log), then restart the forecast API ('deploy/local/serve.sh down; deploy/local/serve.sh up'): it re-reads the models topic and loads the champion. Until then forecasts come from version $(json_get version <<<"$info")"
	else
		log "champion: warning: MLflow's champion is version ${champion:-?} but serving serves another version (curl -s $FORECAST/model/info shows both); the champion's model event may not be on this Kafka log"
	fi
}

# 4. /ready answers 200: the champion is loaded.
wait_ready() {
	local deadline=$((SECONDS + STARTUP_TIMEOUT))
	while :; do
		ready_fetch
		[[ "$ready_code" == 200 ]] && return 0
		((SECONDS < deadline)) || die "champion: $FORECAST/ready did not answer 200 within ${STARTUP_TIMEOUT}s: $body"
		sleep 1
	done
}

sample() {
	local info version through day req
	info="$(curl -sS --max-time 5 "$FORECAST/model/info" || true)"
	version="$(json_field version <<<"$info")"
	through="$(json_field trained_through <<<"$info")"
	day="2015-07-01"
	if [[ -n "$through" ]]; then day="$(date -u -d "$through + 12 days" +%F)"; fi
	req='{"store_id":1,"date":"'"$day"'","promo":1,"stateholiday":"0","schoolholiday":0}'
	log "champion: model ${version:-?} (trained through ${through:-?}) served on $FORECAST ($(elapsed)). Try:"
	log "  curl -s -X POST $FORECAST/predict -H 'Content-Type: application/json' -d '$req'"
	log "  → $(curl -sS --max-time 5 -X POST "$FORECAST/predict" -H 'Content-Type: application/json' -d "$req" || true)"
}

# 5. What the load left: the training_examples checksum and dead letters.
checksum() {
	local out dlq
	out="$("$STORECAST_BIN" --brokers "$BROKERS" topics checksum training_examples sale_rossman_store.dlq 2>&1)" ||
		{ log "champion: no checksum: $out"; return 0; }
	log "champion: $(grep '^training_examples ' <<<"$out")"
	dlq="$(sed -nE 's/^sale_rossman_store\.dlq keys=[0-9]+ records=([0-9]+) .*/\1/p' <<<"$out")"
	if [[ "${dlq:-0}" == 0 ]]; then
		log "champion: sale_rossman_store.dlq is empty"
	else
		log "champion: sale_rossman_store.dlq holds $dlq dead letters: '$STORECAST_BIN dlq replay --dry-run' lists them and what a replay would do"
	fi
}

wait_caught_up
if served; then
	log "champion: a model is already served; not training"
else
	# Serving has no model. When that is because it refused the latest
	# model event (its artifact cannot be fetched or verified), say so
	# first: a new model fixes that only when it beats MLflow's champion.
	refused="$(model_check_detail <<<"$body")"
	if [[ "$refused" == *"was refused"* ]]; then
		log "champion: serving has no model: $refused ($LOG_DIR/serve.log). Training a new one; if MLflow's champion still validates better, the trainer keeps it and this stops naming that refusal"
	fi
	train
	wait_ready
fi
sample
registry_check
checksum
