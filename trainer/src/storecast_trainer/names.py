"""Topic and registered model names: the defaults of Go's topics.DefaultNames, with the same
optional suffix as topics.Names.WithSuffix so Go integration tests can give each run its own topics."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Names:
    """The topics the trainer reads and writes."""

    training_examples: str = "training_examples"
    train_requests: str = "train_requests"
    train_results: str = "train_results"
    models: str = "models"
    snapshot_requests: str = "feature_snapshot_requests"
    snapshots: str = "feature_snapshots"
    store_info: str = "store_info"
    #: The trainer's consumer group on train_requests (renaming it resets its offsets).
    trainer_group: str = "storecast-trainer"

    def with_suffix(self, suffix: str) -> Names:
        """Return the names with "-"+suffix appended to each (as Go's Names.WithSuffix); "" is a no-op."""
        if not suffix:
            return self
        return Names(**{f.name: f"{getattr(self, f.name)}-{suffix}" for f in fields(self)})


#: The registered model of all stores; one store's is GLOBAL_MODEL-store-{id}.
GLOBAL_MODEL = "storecast-sales"


def model_name(store: int | None, suffix: str = "") -> str:
    """The registered model name for a request's store (None or 0: all stores). A names suffix
    (tests) is appended, "-"+suffix, so test runs never touch the real registered models."""
    base = f"{GLOBAL_MODEL}-store-{store}" if store else GLOBAL_MODEL
    return f"{base}-{suffix}" if suffix else base
