"""Train the large model of `make bench-predict-live` on a sandbox's training examples.

Run with the trainer's virtual environment (trainer/.venv/bin/python); it uses the trainer's
own reading, training and export code, and writes the LightGBM text model to --out and a JSON
summary (feature names and schema, rows, rounds, seconds) to stdout. Nothing is published:
the Go benchmark publishes the model to its own models topic.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from storecast_trainer.export import to_lightgbm_text
from storecast_trainer.reading import read_examples
from storecast_trainer.train import TrainParams, combine, refit


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--brokers", required=True)
    p.add_argument("--topic", required=True, help="the sandbox's training_examples topic")
    p.add_argument("--rounds", type=int, default=500)
    p.add_argument("--depth", type=int, default=10)
    p.add_argument(
        "--max-rows", type=int, default=30_000, help="train on the latest rows only (bounds the time)"
    )
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    t0 = time.perf_counter()
    ex, _ = read_examples(a.brokers, a.topic, timeout=600)
    read_s = time.perf_counter() - t0
    if len(ex) > a.max_rows:
        idx = np.sort(np.argsort(ex.date, kind="stable")[-a.max_rows :])
        ex = ex.take(idx)
    # min_child_weight 1: trees grow to the full depth the benchmark asks for.
    # members 1: one booster of exactly --rounds trees.
    params = TrainParams(max_depth=a.depth, num_boost_round=a.rounds, min_child_weight=1.0, members=1)
    members, fit_s = refit(ex, params, a.rounds)
    booster = combine(members, [], params)
    a.out.write_text(to_lightgbm_text(booster, ex.names))
    json.dump(
        {
            "feature_names": list(ex.names),
            "feature_schema": ex.schema,
            "rows": len(ex),
            "rounds": a.rounds,
            "max_depth": a.depth,
            "read_seconds": round(read_s, 3),
            "fit_seconds": round(fit_s, 3),
        },
        sys.stdout,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
