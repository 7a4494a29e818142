"""Turn locust's CSV statistics into bench/results/load.json (make load).

    python report.py --stats PREFIX_stats.csv --users 200 --duration 60 --host URL \
        --out ../results/load.json [--forecast-log-topic T] [--service NAME=URL ...]

Per endpoint and in total: requests, rps, p50_ms, p95_ms, p99_ms, failures; the target of the
issue (200 users, 0 failures, p99 of /predict <= 50 ms) and whether it was met; which services
answered (each --service URL is fetched once after the run: 2xx means running).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import platform
import sys
import urllib.request
from pathlib import Path

TARGET = {"users": 200, "failures": 0, "predict_p99_ms": 50.0}


def _num(row: dict[str, str], key: str) -> float:
    v = row.get(key, "")
    return float(v) if v not in ("", "N/A") else 0.0


def endpoints(stats_csv: Path) -> dict[str, dict[str, float]]:
    """Read locust's *_stats.csv: one entry per request name, plus "total" (locust's Aggregated)."""
    out: dict[str, dict[str, float]] = {}
    with stats_csv.open(newline="") as f:
        for row in csv.DictReader(f):
            name = "total" if row["Name"] == "Aggregated" else row["Name"]
            out[name] = {
                "requests": int(_num(row, "Request Count")),
                "failures": int(_num(row, "Failure Count")),
                "rps": round(_num(row, "Requests/s"), 1),
                "p50_ms": _num(row, "50%"),
                "p95_ms": _num(row, "95%"),
                "p99_ms": _num(row, "99%"),
            }
    if "total" not in out:
        raise ValueError(f"{stats_csv}: no Aggregated row (not a locust stats file?)")
    return out


def target_met(users: int, eps: dict[str, dict[str, float]]) -> bool:
    predict = eps.get("/predict")
    return (
        users >= TARGET["users"]
        and eps["total"]["failures"] == TARGET["failures"]
        and predict is not None
        and predict["p99_ms"] <= TARGET["predict_p99_ms"]
    )


def running(services: list[str]) -> dict[str, bool]:
    out = {}
    for s in services:
        name, _, url = s.partition("=")
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                out[name] = 200 <= resp.status < 300
        except Exception:
            out[name] = False
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--stats", type=Path, required=True)
    ap.add_argument("--users", type=int, required=True)
    ap.add_argument("--duration", type=str, required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--service", action="append", default=[])
    ap.add_argument("--forecast-log-topic", default="", help="where the served forecasts were logged")
    args = ap.parse_args(argv)
    eps = endpoints(args.stats)
    total = eps.pop("total")
    result = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": args.host,
        "forecast_log_topic": args.forecast_log_topic,
        "machine": f"{platform.node()} ({platform.machine()}), shared with the stack",
        "users": args.users,
        "duration": args.duration,
        "rps": total["rps"],
        "p50_ms": total["p50_ms"],
        "p95_ms": total["p95_ms"],
        "p99_ms": total["p99_ms"],
        "failures": total["failures"],
        "requests": total["requests"],
        "endpoints": eps,
        "target": TARGET,
        "target_met": target_met(args.users, {**eps, "total": total}),
        "services_running": running(args.service),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"load: {args.users} users, {total['rps']} rps, p50 {total['p50_ms']} ms, p99 {total['p99_ms']} ms, "
        f"{total['failures']} failures; target met: {result['target_met']} → {args.out}"
    )
    for name, e in sorted(eps.items()):
        print(
            f"  {name:<24} {e['rps']:>7} rps  p50 {e['p50_ms']:>5} ms  p95 {e['p95_ms']:>5} ms  "
            f"p99 {e['p99_ms']:>5} ms  failures {e['failures']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
