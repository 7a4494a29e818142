"""Publishing to Kafka: TrainResult on ``train_results`` (running, then succeeded or failed) and
the promoted model's ModelEvent on the compacted ``models`` topic, keyed by the model name."""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from typing import Any

from confluent_kafka import Producer

from . import kafka_io
from .data import format_day
from .golden import FORMAT
from .names import Names
from .outcome import Outcome, finite, now_rfc3339
from .train import TRANSFORM

log = logging.getLogger(__name__)

TRAIN_RESULT_VERSION = 1
MODEL_EVENT_VERSION = 1
#: Largest artifact carried inside a ModelEvent (base64 adds a third; the topic allows 16 MiB).
MAX_INLINE_ARTIFACT = 11_000_000


class Publisher:
    """Produces the trainer's results and models."""

    def __init__(self, producer: Producer, names: Names) -> None:
        self.producer = producer
        self.names = names

    def result(self, req_id: str, o: Outcome) -> None:
        """Publish a TrainResult for req_id."""
        value: dict[str, Any] = {
            "v": TRAIN_RESULT_VERSION,
            "id": req_id,
            "status": o.status,
            "promoted": o.promoted,
            "at": now_rfc3339(),
        }
        for k, v in (("reason", o.reason), ("run_id", o.run_id), ("model_name", o.model_name)):
            if v:
                value[k] = v
        if o.version:
            value["model_version"] = o.version
        if o.metrics:
            value["metrics"] = finite(o.metrics)
        if o.rows:
            value["rows"] = o.rows
        kafka_io.produce_json(self.producer, self.names.train_results, req_id, value)

    def model(
        self,
        name: str,
        version: str,
        run_id: str,
        metrics_: Mapping[str, float],
        feature_names: list[str],
        feature_schema: str,
        artifact: bytes,
        sha: str,
        trained_through: int,
        intervals: Mapping[str, Any] | None = None,
        feature_bins: list[dict[str, Any]] | None = None,
        protocol: str = "",
    ) -> None:
        """Publish the promoted model on the compacted models topic, keyed by its name; intervals
        (train.Intervals.to_json(), topics.ModelIntervals) when the model has them, and the
        validation protocol its choices were made under (train.PROTOCOL)."""
        ev: dict[str, Any] = {
            "v": MODEL_EVENT_VERSION,
            "name": name,
            "version": version,
            "run_id": run_id,
            "metrics": finite(metrics_),
            "feature_names": feature_names,
            "feature_schema": feature_schema,
            "format": FORMAT,
            "target_transform": TRANSFORM,
            "sha256": sha,
            "trained_through": format_day(trained_through),
            "at": now_rfc3339(),
        }
        if intervals:
            ev["intervals"] = dict(intervals)
        if feature_bins:
            ev["feature_bins"] = feature_bins  # training distribution (drift.py)
        if protocol:
            ev["protocol"] = protocol
        if len(artifact) <= MAX_INLINE_ARTIFACT:
            ev["artifact"] = base64.b64encode(artifact).decode()
        else:
            ev["artifact_uri"] = f"runs:/{run_id}/export/model.txt"
            log.warning(
                "model %s v%s: artifact of %d bytes is too large to inline; publishing its URI",
                name,
                version,
                len(artifact),
            )
        kafka_io.produce_json(self.producer, self.names.models, name, ev)
