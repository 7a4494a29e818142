"""The training worker: consumes ``train_requests`` as the trainer's consumer group and serves each
request with pipeline.Trainer (a promote request with promote.run); a request's offset is committed
once it is answered."""

from __future__ import annotations

import logging
import math
import signal
import threading

from confluent_kafka import Consumer, KafkaException

from . import promote
from .outcome import Outcome
from .pipeline import Config, Trainer
from .prom import WorkerMetrics
from .request import ACTION_PROMOTE, KnownRequestError, Request, RequestError

log = logging.getLogger(__name__)


def serve(cfg: Config, metrics: WorkerMetrics | None) -> int:
    """Consume train requests until SIGINT/SIGTERM; commit each request's offset once it is answered."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping after the current request", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    trainer = Trainer(cfg, metrics)
    if metrics is not None and cfg.tracking_uri:
        # The champion's RMSPE gauge starts from the registry, not from the first promotion.
        try:
            name = trainer.model_name(None)
            tr = trainer.tracker()
            champ = tr.champion(name) if tr is not None else None
            if champ is not None and math.isfinite(champ.val_rmspe):
                metrics.champion_rmspe.labels(name).set(champ.val_rmspe)
        except Exception as e:
            log.warning("mlflow: could not read the champion at startup: %s", e)
            trainer.forget_tracker()
    c = Consumer(
        {
            "bootstrap.servers": cfg.brokers,
            "group.id": cfg.names.trainer_group,
            "client.id": "storecast-trainer",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            # A training run may take many minutes between polls.
            "max.poll.interval.ms": 3_600_000,
        }
    )
    c.subscribe([cfg.names.train_requests])
    log.info("worker: consuming %s as group %s", cfg.names.train_requests, cfg.names.trainer_group)
    try:
        while not stop.is_set():
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error() is not None:
                if m.error().fatal():
                    raise KafkaException(m.error())
                # e.g. the topic does not exist yet (topics init runs after the stack starts).
                log.warning("consumer: %s", m.error())
                stop.wait(1.0)
                continue
            handle_message(trainer, m.key(), m.value())
            c.commit(message=m, asynchronous=False)
    finally:
        c.close()
    return 0


def handle_message(trainer: Trainer, key: bytes | None, value: bytes | None) -> Outcome | None:
    """Decode one train_requests record and serve it; an undecodable request is answered as failed."""
    if value is None:
        return None
    try:
        req = Request.decode(value, key)
    except KnownRequestError as e:
        o = Outcome(status="failed", reason=str(e), model_name=trainer.model_name(e.req.store))
        trainer.publish.result(e.req.id, o)
        if trainer.metrics:
            trainer.metrics.observe(o)
        return o
    except RequestError as e:
        rid = key.decode(errors="replace") if key else ""
        log.error("undecodable train request (key %r): %s", rid, e)
        if rid:
            trainer.publish.result(rid, Outcome(status="failed", reason=str(e)))
        return None
    if req.action == ACTION_PROMOTE:
        return promote.run(trainer, req)
    return trainer.run(req)
