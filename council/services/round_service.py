"""Round services: open a round, extend a window, read a round."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from council.infra import criteria_trees
from council.services.application import CouncilBase, Receipt
from domain.errors import AlreadyExistsError, InvalidRoundError
from domain.ids import round_id, round_key
from domain.round import Round
from domain.values import Actor, Unit, Window, to_points

DEFAULT_THRESHOLDS = {"A": "90.00", "B": "80.00", "C": "70.00"}


@dataclass(frozen=True)
class RoundPlan:
    """What the Secretariat opens a round with: year, criteria tree, units, windows, group thresholds."""

    year: int
    framework_id: str
    units: Sequence[Mapping[str, Any]]
    windows: Mapping[str, Mapping[str, Any]]
    thresholds: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Extension:
    """A window moved to a later close, for every unit or for one, always with a reason."""

    window: str
    closes_at: datetime
    reason: str
    unit: str | None = field(default=None)


class RoundServices(CouncilBase):
    def open_round(self, plan: RoundPlan, actor: Actor) -> Receipt:
        framework = criteria_trees.load(plan.framework_id)
        key = round_key(plan.year, framework.level)
        if self.recorder.select_events(round_id(key), limit=1):
            raise AlreadyExistsError(f"round {key} is already open")
        try:
            units = [Unit.from_dict(dict(u)) for u in plan.units]
            windows = {name: Window.from_dict(dict(w)) for name, w in plan.windows.items()}
        except (TypeError, ValueError) as error:
            raise InvalidRoundError(f"units or windows are malformed: {error}") from None
        thresholds = {k: to_points(v) for k, v in (plan.thresholds or DEFAULT_THRESHOLDS).items()}
        rnd = Round.open(year=plan.year, framework=framework, units=units, windows=windows,
                         thresholds=thresholds, ctx=self.context(actor))
        return self._save(rnd)[-1]

    def extend_window(self, key: str, extension: Extension, actor: Actor) -> Receipt:
        rnd = self._load(round_id(key), f"round {key}")
        rnd.extend(extension.window, extension.closes_at, self.context(actor), reason=extension.reason,
                   unit=extension.unit)
        return self._save(rnd)[-1]

    def round(self, key: str) -> dict[str, Any]:
        rnd = self._round(key)
        return {
            "key": rnd.key, "year": rnd.year, "level": rnd.level, "phase": rnd.phase, "version": rnd.version,
            "framework": {"id": rnd.framework.id, "hash": rnd.framework_hash},
            "units": [vars(unit) for unit in rnd.units.values()],
            "windows": {name: {"opens_at": w.opens_at, "closes_at": rnd.closes_at(name)}
                        for name, w in rnd.windows.items()},
            "extensions": [{"window": w, "unit": u, "closes_at": t} for (w, u), t in rnd.extensions.items()],
            "thresholds": rnd.thresholds,
            "meeting": None if rnd.meeting is None else {
                "held_on": rnd.meeting.held_on, "members": list(rnd.meeting.members), "minutes": rnd.meeting.minutes},
            "approval": None if rnd.approval is None else {
                "number": rnd.approval.decision_number, "decided_on": rnd.approval.decided_on},
            "announcement": None if rnd.announced_on is None else {"announced_on": rnd.announced_on},
        }
