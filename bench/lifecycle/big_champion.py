#!/usr/bin/env python3
"""Train a large champion through POST /train and show it served end to end.

Issue 10's acceptance: "A 500-tree, depth-10 champion trained through POST /train is served
by storecast serve and storecast process (/model/info shows it, with the registry's champion
equal to the served version)." Run against a stack loaded with the Rossmann data (make up
DATA=...); it MOVES that stack's champion, so never point it at a stack whose model matters.

Steps: POST /train with params that grow 500 trees at depth 10 (eta 0.05, num_boost_round 500,
early stopping never firing); keep POST /predict requests in flight the whole time and count
every answer that is not 200; wait for the result; wait until serve's /model/info serves the
new version with the registry in step, until storecast process's /metrics shows it
(storecast_model_info), and read MLflow's champion alias and the run's max_depth. Prints and
writes the evidence to bench/results/big_champion.json (or the path given).

Environment (as in .state/env): STORECAST_FORECAST_ADDR, STORECAST_TRAIN_ADDR,
STORECAST_API_TOKEN (or STORECAST_STATE_DIR/api-token), STORECAST_PROCESS_METRICS_ADDR,
STORECAST_MLFLOW_TRACKING_URI. Only the Python standard library.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

PARAMS = {"eta": "0.05", "num_boost_round": "500", "early_stopping_rounds": "1000", "max_depth": "10"}
MODEL = "storecast-sales"
REPO = pathlib.Path(__file__).resolve().parents[2]


def env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def call(method: str, url: str, body: dict | None = None, token: str = "", timeout: float = 30) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get_json(url: str, timeout: float = 30) -> dict:
    code, b = call("GET", url, timeout=timeout)
    if code != 200:
        raise RuntimeError(f"GET {url}: {code} {b[:300]!r}")
    return json.loads(b)


def log(msg: str) -> None:
    print(f"{datetime.datetime.now(datetime.UTC):%H:%M:%S} {msg}", flush=True)


class Load:
    """POST /predict in a loop (one request at a time) until stopped; counts answers by status."""

    def __init__(self, forecast: str, day: str) -> None:
        self.forecast, self.day = forecast, day
        self.codes: dict[str, int] = {}
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        store = 0
        while not self.stop.is_set():
            store = store % 1115 + 1
            body = {"store_id": store, "date": self.day, "promo": 1, "stateholiday": "0", "schoolholiday": 0}
            try:
                code, b = call("POST", self.forecast + "/predict", body, timeout=30)
            except OSError as e:
                code, b = 0, str(e).encode()
            self.codes[str(code)] = self.codes.get(str(code), 0) + 1
            # 422 stale-store is the documented answer for a store that stopped reporting.
            if code not in (200, 422) and len(self.errors) < 20:
                self.errors.append(f"store {store}: {code} {b[:200]!r}")
            time.sleep(0.05)  # pacing, not synchronisation: about 15 requests a second


def process_versions(metrics_url: str) -> list[str]:
    try:
        code, b = call("GET", metrics_url, timeout=10)
    except OSError:  # restarting
        return []
    if code != 200:
        return []
    return re.findall(r'^storecast_model_info\{[^}]*model_version="([^"]+)"[^}]*\} 1', b.decode(), re.MULTILINE)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "bench/results/big_champion.json"), help="evidence JSON to write")
    ap.add_argument("--param", action="append", default=[], metavar="K=V", help="extra or overriding trainer param")
    ap.add_argument("--request-id", help="attach to this earlier training request instead of posting a new one")
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    params = dict(PARAMS) | dict(kv.split("=", 1) for kv in args.param)
    forecast = "http://" + env("STORECAST_FORECAST_ADDR", "127.0.0.1:4242")
    train = "http://" + env("STORECAST_TRAIN_ADDR", "127.0.0.1:4243")
    process = "http://" + env("STORECAST_PROCESS_METRICS_ADDR", "127.0.0.1:9103") + "/metrics"
    mlflow = env("STORECAST_MLFLOW_TRACKING_URI", "http://127.0.0.1:5050")
    state = pathlib.Path(env("STORECAST_STATE_DIR", str(REPO / ".state")))
    token = os.environ.get("STORECAST_API_TOKEN") or (state / "api-token").read_text().strip()

    before = get_json(forecast + "/model/info")
    as_of = before["as_of"]["day"]
    day = (datetime.date.fromisoformat(as_of) + datetime.timedelta(days=12)).isoformat()
    log(f"serving version {before.get('version')} ({before.get('trees')} trees); as of {as_of}")
    load = Load(forecast, day)
    load.t.start()

    t0 = time.monotonic()
    if args.request_id:
        rid = args.request_id
        log(f"attaching to training request {rid}")
    else:
        code, b = call("POST", train + "/train", {"params": params}, token=token)
        if code != 202:
            raise RuntimeError(f"POST /train: {code} {b!r}")
        rid = json.loads(b)["request_id"]
        log(f"POST /train {params} → request {rid}")
    while True:
        st = get_json(f"{train}/train/{rid}?wait=60s", timeout=90)
        if st["status"] in ("succeeded", "failed"):
            break
        log(f"training {st['status']} ({time.monotonic() - t0:.0f}s)")
    train_seconds = time.monotonic() - t0
    log(f"train result ({train_seconds:.0f}s): {json.dumps(st)}")
    if st["status"] != "succeeded":
        raise RuntimeError(f"training failed: {st.get('reason')}")
    version = st["model_version"]

    # serve: the new version, the registry's champion in step with it.
    deadline = time.monotonic() + 600
    while True:
        info = get_json(forecast + "/model/info")
        reg = info.get("registry") or {}
        if info.get("version") == version and reg.get("champion") == version and reg.get("in_step"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"serve does not serve version {version} in step with the registry: {info}")
        time.sleep(2)  # polling with a deadline
    served_after = time.monotonic() - t0
    log(
        f"serve: version {info['version']}, {info.get('trees')} trees, {info.get('size_bytes')} bytes, {info.get('source')}"
    )
    deadline = time.monotonic() + 600
    while version not in (pversions := process_versions(process)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"process does not serve version {version}: storecast_model_info versions {pversions}")
        time.sleep(2)  # polling with a deadline
    log(f"process: storecast_model_info versions {pversions}")
    time.sleep(10)  # keep the load running a little past the swap in both services
    load.stop.set()
    load.t.join()

    alias = get_json(f"{mlflow}/api/2.0/mlflow/registered-models/alias?name={MODEL}&alias=champion")
    run = get_json(f"{mlflow}/api/2.0/mlflow/runs/get?run_id={urllib.parse.quote(st['run_id'])}")
    logged = {p["key"]: p["value"] for p in run["run"]["data"].get("params", [])}
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], check=False, capture_output=True, text=True
    ).stdout.strip()
    failed = sum(n for c, n in load.codes.items() if c not in ("200", "422"))
    # Every /predict serve answered since it started, by status (it counts what a client saw).
    _, m = call("GET", forecast + "/metrics", timeout=10)
    served = dict(
        re.findall(
            r'^storecast_api_requests_total\{[^}]*route="/predict"[^}]*status="(\d+)"\} (\S+)', m.decode(), re.MULTILINE
        )
    )
    rec = {
        "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit,
        "request": {"params": params, "request_id": rid},
        "train_result": st,
        "train_seconds": round(train_seconds, 1),
        "served_seconds_after_post": round(served_after, 1),
        "mlflow": {
            "champion_alias_version": alias["model_version"]["version"],
            "run_max_depth": logged.get("max_depth"),
            "run_eta": logged.get("eta"),
        },
        "serve_model_info": {
            k: info.get(k) for k in ("name", "version", "trees", "size_bytes", "sha256", "source", "format", "metrics")
        }
        | {"registry": info.get("registry"), "latest_offer": info.get("latest_offer")},
        "process_model_info_versions": pversions,
        "predict_during_swap": {"answers": load.codes, "failed": failed, "first_failures": load.errors},
        "serve_predict_answers_by_status": served,
        "before": {"version": before.get("version"), "trees": before.get("trees")},
    }
    ok = (
        info.get("trees") == 500
        and logged.get("max_depth") == "10"
        and rec["mlflow"]["champion_alias_version"] == version == info["version"]
        and version in pversions
        and failed == 0
        and set(served) <= {"200", "422"}
    )
    rec["acceptance_met"] = ok
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rec, indent=2) + "\n")
    print(json.dumps(rec, indent=2))
    log(f"{'OK' if ok else 'NOT MET'}: written to {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
