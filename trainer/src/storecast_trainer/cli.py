"""storecast-trainer: Storecast's trainer.

Subcommands:
  worker   consume train requests and train (the long-running service)
  train    serve one request from the command line (no Kafka consumer group), print the outcome
  bench    train on every example, write bench/results/train.json
  lab      run the honest protocol on examples computed offline (bench/featurelab): experiments
  golden   regenerate the Go parity golden files (model/testdata/golden)

Every flag has an environment twin (STORECAST_...).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import uuid
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _default_cache_dir() -> str:
    """$STORECAST_STATE_DIR/trainer-cache when the stack's state folder is known, else the user's cache."""
    state = os.environ.get("STORECAST_STATE_DIR")
    if state:
        return str(Path(state) / "trainer-cache")
    return str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "storecast-trainer")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--brokers",
        default=_env("STORECAST_BROKERS", "127.0.0.1:9092"),
        help="Kafka bootstrap brokers (STORECAST_BROKERS)",
    )
    p.add_argument(
        "--tracking-uri",
        default=_env("STORECAST_MLFLOW_TRACKING_URI", "http://127.0.0.1:5050"),
        help="MLflow tracking server; empty: no tracking (STORECAST_MLFLOW_TRACKING_URI)",
    )
    p.add_argument(
        "--names-suffix",
        default=_env("STORECAST_NAMES_SUFFIX", ""),
        help="suffix of every topic, group and registered model name (STORECAST_NAMES_SUFFIX)",
    )
    p.add_argument(
        "--snapshot-timeout",
        type=float,
        default=float(_env("STORECAST_TRAINER_SNAPSHOT_TIMEOUT", "180")),
        help="seconds to wait for feature snapshots (STORECAST_TRAINER_SNAPSHOT_TIMEOUT)",
    )
    p.add_argument(
        "--cache-dir",
        default=_env("STORECAST_TRAINER_CACHE_DIR", _default_cache_dir()),
        help="folder of the examples cache (disposable; empty: read the whole topic every time) "
        "(STORECAST_TRAINER_CACHE_DIR)",
    )
    p.add_argument(
        "--storecast-bin",
        default=_env("STORECAST_BIN", ""),
        help="the storecast binary; when set, every model's golden rows are replayed through Go's "
        "leaves (storecast golden) before it is published (STORECAST_BIN)",
    )
    p.add_argument(
        "--params",
        default=_env("STORECAST_TRAINER_PARAMS", ""),
        metavar="K=V,...",
        help="default training parameters, under each request's own (e.g. members=3 on a machine "
        "with more cores) (STORECAST_TRAINER_PARAMS)",
    )
    p.add_argument(
        "--log-level",
        default=_env("STORECAST_LOG_LEVEL", "info"),
        help="debug, info, warn, error (STORECAST_LOG_LEVEL)",
    )


def _request_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", type=int, default=0, help="one store's model (0: all stores)")
    p.add_argument("--start", default="", help="first day YYYY-MM-DD (default: all data)")
    p.add_argument("--end", default="", help="last day YYYY-MM-DD (default: all data)")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="training parameter override")


def main(argv: list[str] | None = None) -> int:
    """Run the storecast-trainer command line."""
    parser = argparse.ArgumentParser(
        prog="storecast-trainer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)

    w = sub.add_parser("worker", help="consume train requests and train")
    _common(w)
    w.add_argument(
        "--metrics-addr",
        default=_env("STORECAST_TRAINER_METRICS_ADDR", "127.0.0.1:9104"),
        help="host:port of /metrics (STORECAST_TRAINER_METRICS_ADDR)",
    )

    t = sub.add_parser("train", help="serve one request from the command line")
    _common(t)
    _request_flags(t)
    t.add_argument("--no-publish", action="store_true", help="publish nothing to Kafka (results, models)")

    b = sub.add_parser("bench", help="train on every example; write bench/results/train.json")
    _common(b)
    _request_flags(b)
    b.add_argument("--out", type=Path, default=Path("bench/results/train.json"))

    lab = sub.add_parser(
        "lab",
        help="run the honest protocol on examples computed offline by bench/featurelab (experiments)",
    )
    lab.add_argument("dir", type=Path, help="featurelab's output folder")
    lab.add_argument("--snapshot", default="val", help="the snapshot that is the reported window")
    lab.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="training parameter override"
    )
    lab.add_argument("--drop", default="", help="comma-separated features to leave out")
    lab.add_argument("--name", default="", help="run name (default: the overrides)")
    lab.add_argument(
        "--tracking-uri",
        default=_env("STORECAST_MLFLOW_TRACKING_URI", ""),
        help="also record the run in MLflow experiment storecast-lab (STORECAST_MLFLOW_TRACKING_URI)",
    )

    g = sub.add_parser("golden", help="regenerate the Go parity golden files")
    g.add_argument("--out", type=Path, default=Path("model/testdata/golden"))
    g.add_argument(
        "--production",
        type=Path,
        metavar="CACHE_DIR",
        help="a production-shaped golden set from the real examples in this examples cache "
        "(written by a worker or bench run); default out: model/testdata/golden-production",
    )

    args = parser.parse_args(argv)
    from .names import Names

    if args.cmd == "lab":
        from . import lab as labmod

        drop = [s for s in args.drop.split(",") if s]
        try:
            r = labmod.run(args.dir, args.snapshot, dict(kv.split("=", 1) for kv in args.param), drop)
        except (OSError, ValueError) as e:
            parser.error(str(e))
        if args.tracking_uri:
            name = args.name or (" ".join(args.param + [f"-{d}" for d in drop]) or "defaults")
            r["mlflow_run_id"] = labmod.log_run(args.tracking_uri, name, r)
        print(json.dumps(r))
        return 0

    if args.cmd == "golden":
        from .golden import make_golden, make_production_golden

        if args.production:
            from . import cache
            from .data import filter_examples

            stored = cache.load(args.production, Names().training_examples)
            if stored is None:
                parser.error(f"no examples cache of training_examples in {args.production}")
            out = (
                args.out
                if args.out != Path("model/testdata/golden")
                else Path("model/testdata/golden-production")
            )
            ex = filter_examples(stored.table.rows.to_examples())
            json.dump(make_production_golden(out, ex), sys.stdout, indent=2)
            print()
            return 0
        json.dump(make_golden(args.out), sys.stdout, indent=2)
        print()
        return 0

    # Fail a request in seconds, not minutes, when the tracking server is down.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
    level = {"warn": "WARNING"}.get(args.log_level.lower(), args.log_level.upper())
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("urllib3", "mlflow", "alembic", "matplotlib"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))

    from .bench import bench_summary
    from .pipeline import Config, Trainer
    from .request import Request, RequestError
    from .train import parse_params

    try:
        defaults = parse_params(args.params)
    except RequestError as e:
        parser.error(f"--params / STORECAST_TRAINER_PARAMS: {e}")
    cfg = Config(
        brokers=args.brokers,
        tracking_uri=args.tracking_uri or None,
        names=Names().with_suffix(args.names_suffix),
        snapshot_timeout=args.snapshot_timeout,
        model_suffix=args.names_suffix,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        storecast_bin=args.storecast_bin,
        default_params=defaults,
    )
    if defaults:
        logging.getLogger(__name__).info("default training parameters: %s", defaults)
    if args.cmd == "worker":
        from .prom import WorkerMetrics
        from .worker import serve

        m = WorkerMetrics()
        m.serve(args.metrics_addr)
        logging.getLogger(__name__).info("metrics on http://%s/metrics", args.metrics_addr)
        return serve(cfg, m)

    from .data import parse_day

    params = dict(kv.split("=", 1) for kv in args.param)
    req = Request(
        id=f"{args.cmd}-{uuid.uuid4().hex[:12]}",
        requested_by="storecast-trainer " + args.cmd,
        store=args.store or None,
        start=parse_day(args.start) if args.start else None,
        end=parse_day(args.end) if args.end else None,
        params=params,
    )
    if args.cmd == "bench":
        import time

        from .bench import machine
        from .reading import read_examples

        params.setdefault("nthread", "2")
        before = machine()
        o = Trainer(cfg).run(req, publish=False, track=False)
        after = machine()
        incremental = None
        if cfg.cache_dir is not None:
            t = time.perf_counter()
            read_examples(cfg.brokers, cfg.names.training_examples, cfg.read_timeout, cfg.cache_dir)
            incremental = time.perf_counter() - t
        summary = bench_summary(o, read_seconds_incremental=incremental, load_before=before, load_after=after)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2) + "\n")
        print(
            f"bench-train: {o.status} rows={summary['rows']} protocol={summary['protocol']} "
            f"train_seconds={summary['train_seconds']} val_rmspe={summary['val_rmspe']} "
            f"val_window={summary['val_window']} inner_window={summary['inner_window']} "
            f"trees={summary['trees']} coverage80={summary['interval_coverage_80']} "
            f"read_seconds_incremental={summary['read_seconds_incremental']} "
            f"(timings {summary['timings']}) -> {args.out}"
        )
        return 0 if o.status == "succeeded" else 1
    o = Trainer(cfg).run(req, publish=not args.no_publish)
    print(json.dumps({k: v for k, v in o.__dict__.items()}, indent=2, default=str))
    return 0 if o.status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
