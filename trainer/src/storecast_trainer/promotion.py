"""The promotion rule: alias ``challenger`` on every new version; ``champion`` moves only when the
challenger's validation RMSPE beats the champion's on the same window, or when there is no champion.

"The same window" is taken literally: the champion's score must be on the challenger's window.
When the champion was validated on that very window, its recorded score is used; otherwise its
validation model (trained only on days before its own window) is re-scored on the challenger's
window, which is out of sample for it as long as its window did not start later. A champion that
cannot be scored on the window (its window starts later, or its features differ) is not compared:
a different feature schema means the champion can no longer be served and the challenger wins; a
later window keeps the champion.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """A validation window: forecasts as of ``as_of`` for the days first..last (days since epoch)."""

    as_of: int
    first: int
    last: int

    def label(self) -> str:
        """Return "FIRST..LAST@AS_OF" in ISO dates."""
        from .data import format_day

        return f"{format_day(self.first)}..{format_day(self.last)}@{format_day(self.as_of)}"


@dataclass(frozen=True)
class Champion:
    """What is known about the current champion."""

    version: str
    window: Window | None
    val_rmspe: float
    same_features: bool = True
    #: The champion's validation model's RMSPE on the challenger's window, when it could be scored.
    rescored_rmspe: float | None = None


@dataclass(frozen=True)
class Decision:
    """Whether the challenger becomes champion, and why."""

    promote: bool
    reason: str
    champion_rmspe: float | None = None


def decide(challenger_rmspe: float, window: Window, champion: Champion | None) -> Decision:
    """Apply the promotion rule (see the module doc)."""
    if math.isnan(challenger_rmspe):
        return Decision(False, "the challenger has no validation RMSPE")
    if champion is None:
        return Decision(True, "no champion")
    if not champion.same_features:
        return Decision(True, f"champion v{champion.version} has another feature schema")
    if champion.window == window:
        score = champion.val_rmspe
    elif champion.rescored_rmspe is not None and (
        champion.window is None or champion.window.first <= window.first
    ):
        score = champion.rescored_rmspe
    else:
        return Decision(False, f"champion v{champion.version} cannot be scored on window {window.label()}")
    if math.isnan(score) or challenger_rmspe < score:
        return Decision(
            True, f"rmspe {challenger_rmspe:.5f} beats champion v{champion.version}'s {score:.5f}", score
        )
    return Decision(
        False, f"rmspe {challenger_rmspe:.5f} does not beat champion v{champion.version}'s {score:.5f}", score
    )


@dataclass
class ChampionRun:
    """The current champion version and what its run recorded."""

    version: str
    run_id: str
    window: Window | None
    val_rmspe: float
    feature_names: list[str] | None
    #: The calibration factor its forecasts are multiplied by (1.0 for runs without one).
    calibration: float = 1.0


def champion_for_decision(
    champ: ChampionRun | None,
    challenger_names: list[str],
    window: Window,
    rescore: Callable[[ChampionRun], float | None],
) -> Champion | None:
    """Build promotion.Champion: re-score the champion's validation model on the challenger's window
    (``rescore(champ) -> rmspe``) when the windows differ."""
    if champ is None:
        return None
    same = champ.feature_names is None or champ.feature_names == challenger_names
    rescored = None
    if same and champ.window != window and (champ.window is None or champ.window.first <= window.first):
        rescored = rescore(champ)
    return Champion(
        version=champ.version,
        window=champ.window,
        val_rmspe=champ.val_rmspe,
        same_features=same,
        rescored_rmspe=rescored,
    )
