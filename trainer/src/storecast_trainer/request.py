"""Decoding train requests: topics.TrainRequest JSON → Request, or RequestError with the reason."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from .data import parse_day

#: topics.TrainRequest's schema version (a training request).
TRAIN_REQUEST_VERSION = 1
#: topics.TrainRequestActionVersion: a request with an action (promote.py) instead of training.
ACTION_REQUEST_VERSION = 2
#: topics.ActionPromote: make model_name's model_version the champion.
ACTION_PROMOTE = "promote"


class RequestError(ValueError):
    """A train request that cannot be served; its message is the failure reason."""


@dataclass
class Request:
    """A decoded topics.TrainRequest."""

    id: str
    requested_by: str = ""
    store: int | None = None
    start: int | None = None
    end: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    #: "" (train) or ACTION_PROMOTE, with the registered model and version it names.
    action: str = ""
    model_name: str = ""
    model_version: str = ""

    @classmethod
    def decode(cls, raw: bytes, key: bytes | None = None) -> Request:
        """Decode and check a request; RequestError names what is wrong (KnownRequestError once the id
        is known, so the failure can be published under it)."""
        try:
            d = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise RequestError(f"request is not JSON: {e}") from None
        if not isinstance(d, dict):
            raise RequestError("request is not a JSON object")
        rid = d.get("id") or (key.decode(errors="replace") if key else "")
        if not rid:
            raise RequestError("request has no id")
        r = cls(id=str(rid), requested_by=str(d.get("requested_by", "")))
        if d.get("v") == ACTION_REQUEST_VERSION:
            return r._action(d)
        if d.get("v") != TRAIN_REQUEST_VERSION:
            raise KnownRequestError(
                r,
                f"schema version {d.get('v')!r} is not supported "
                f"(want {TRAIN_REQUEST_VERSION}, or {ACTION_REQUEST_VERSION} with an action)",
            )
        try:
            r.store = int(d["store_id"]) if d.get("store_id") else None
            r.start = parse_day(d["start_date"]) if d.get("start_date") else None
            r.end = parse_day(d["end_date"]) if d.get("end_date") else None
        except (TypeError, ValueError) as e:
            raise KnownRequestError(r, f"bad store or date: {e}") from None
        if r.store is not None and r.store < 1:
            raise KnownRequestError(r, f"store id {r.store} is not positive")
        if r.start is not None and r.end is not None and r.end < r.start:
            raise KnownRequestError(r, "end_date is before start_date")
        params = d.get("params") or {}
        if not isinstance(params, dict):
            raise KnownRequestError(r, "params is not an object")
        r.params = {str(k): str(v) for k, v in params.items()}
        return r

    def _action(self, d: dict[str, object]) -> Request:
        """Decode the action of a version-2 request (only promote exists)."""
        action = d.get("action")
        if action != ACTION_PROMOTE:
            raise KnownRequestError(
                self, f"schema version {ACTION_REQUEST_VERSION} needs an action; {action!r} is not one"
            )
        self.action = ACTION_PROMOTE
        self.model_name = str(d.get("model_name") or "")
        self.model_version = str(d.get("model_version") or "")
        if not self.model_name or not self.model_version.isdigit():
            raise KnownRequestError(
                self,
                f"a promote request needs model_name and a numeric model_version (got {self.model_name!r} "
                f"{self.model_version!r})",
            )
        return self


class KnownRequestError(RequestError):
    """A RequestError that knows its request (so the failure can be published under its id)."""

    def __init__(self, req: Request, reason: str) -> None:
        super().__init__(reason)
        self.req = req
