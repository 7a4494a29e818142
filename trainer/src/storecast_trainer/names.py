"""Topic names: the defaults of Go's topics.DefaultNames, with the same optional suffix as
topics.Names.WithSuffix so Go integration tests can give each run its own topics."""

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
