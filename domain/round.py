"""Round: one year's appraisal for one level, with its units, criteria tree, windows and phase."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from domain.base import ChainedAggregate
from domain.errors import (
    InvalidRoundError,
    NotFoundError,
    ReasonRequiredError,
    WindowClosedError,
    WrongPhaseError,
)
from domain.framework import Framework
from domain.ids import round_id, round_key
from domain.values import Context, Role, Unit, Window, blank

PHASES = ("self_assessment", "appraisal", "explanation", "council_review", "finalized", "published")
WINDOWS = {"self_assessment": "self_assessment", "explanation": "explanation"}


class Round(ChainedAggregate):
    TOPIC = "par:round"

    class Event(ChainedAggregate.Event):
        TOPIC = "par:round:event"

    class Created(ChainedAggregate.Created):
        TOPIC = "par:round:opened"
        key: str
        year: int
        level: str
        units: tuple[Unit, ...]
        framework: dict[str, Any]
        framework_hash: str
        windows: dict[str, Window]
        thresholds: dict[str, Decimal]

    class PhaseAdvanced(Event):
        TOPIC = "par:round:phase-advanced"
        from_phase: str
        to_phase: str
        reason: str

        def apply(self, round_: Round) -> None:
            round_.phase = self.to_phase

    class WindowExtended(Event):
        TOPIC = "par:round:window-extended"
        window: str
        unit: str | None
        closes_at: datetime
        reason: str

        def apply(self, round_: Round) -> None:
            round_.extensions[(self.window, self.unit)] = self.closes_at

    def __init__(self, key: str, year: int, level: str, units: Sequence[Unit], framework: dict[str, Any],
                 framework_hash: str, windows: Mapping[str, Window], thresholds: Mapping[str, Decimal]) -> None:
        self.key = key
        self.year = year
        self.level = level
        self.units = {unit.code: unit for unit in units}
        self.framework_data = framework
        self.framework_hash = framework_hash
        self.windows = dict(windows)
        self.thresholds = dict(thresholds)
        self.phase = PHASES[0]
        self.extensions: dict[tuple[str, str | None], datetime] = {}

    @classmethod
    def open(cls, *, year: int, framework: Framework, units: Sequence[Unit], windows: Mapping[str, Window],
             thresholds: Mapping[str, Decimal], ctx: Context) -> Round:
        ctx.actor.require_role(Role.SECRETARIAT)
        codes = [unit.code for unit in units]
        if not codes or len(set(codes)) != len(codes):
            raise InvalidRoundError("a round needs a list of units with unique codes")
        if set(windows) != set(WINDOWS):
            raise InvalidRoundError(f"a round needs exactly the windows {sorted(WINDOWS)}")
        if windows["self_assessment"].closes_at > windows["explanation"].opens_at:
            raise InvalidRoundError("the explanation window must open after self-assessment closes")
        levels = list(thresholds.values())
        if levels != sorted(levels, reverse=True) or any(not 0 <= v <= 100 for v in levels):
            raise InvalidRoundError("group thresholds must be percentages, highest group first")
        key = round_key(year, framework.level)
        return cls._create(
            cls.Created, id=round_id(key), key=key, year=year, level=framework.level, units=tuple(units),
            framework=dict(framework.data), framework_hash=framework.hash, windows=dict(windows),
            thresholds=dict(thresholds), **ctx.stamp(),
        )

    @cached_property
    def framework(self) -> Framework:
        return Framework.from_data(self.framework_data)

    def require_advance(self, to_phase: str, ctx: Context) -> None:
        """Phases move one step forward, by the Secretariat or the scheduler."""
        ctx.actor.require_role(Role.SECRETARIAT, Role.SYSTEM)
        if to_phase not in PHASES or PHASES.index(to_phase) != PHASES.index(self.phase) + 1:
            raise WrongPhaseError(f"round {self.key} is in {self.phase}; it cannot move to {to_phase!r}",
                                  phase=self.phase)

    def advance(self, to_phase: str, ctx: Context, reason: str = "") -> None:
        self.require_advance(to_phase, ctx)
        self.trigger_event(self.PhaseAdvanced, from_phase=self.phase, to_phase=to_phase, reason=reason, **ctx.stamp())

    def extend(self, window: str, closes_at: datetime, ctx: Context, *, reason: str, unit: str | None = None) -> None:
        ctx.actor.require_role(Role.SECRETARIAT)
        if window not in self.windows:
            raise NotFoundError(f"round {self.key} has no window {window!r}")
        if unit is not None:
            self.unit(unit)
        if blank(reason):
            raise ReasonRequiredError("an extension needs a reason")
        if closes_at <= self.closes_at(window, unit):
            raise InvalidRoundError(f"an extension must close after {self.closes_at(window, unit).isoformat()}")
        self.trigger_event(self.WindowExtended, window=window, unit=unit, closes_at=closes_at, reason=reason,
                           **ctx.stamp())

    def closes_at(self, window: str, unit: str | None = None) -> datetime:
        """The close of a window for a unit: the later of the round-wide and the unit's own extension."""
        candidates = [self.windows[window].closes_at, self.extensions.get((window, None))]
        if unit is not None:
            candidates.append(self.extensions.get((window, unit)))
        return max(c for c in candidates if c is not None)

    def require_window(self, window: str, unit: str, now: datetime) -> None:
        """Units write only in the window's phase, between its opening and its (extended) close."""
        self.require_phase(WINDOWS[window])
        opens_at, closes_at = self.windows[window].opens_at, self.closes_at(window, unit)
        if not opens_at <= now < closes_at:
            raise WindowClosedError(
                f"the {window} window for unit {unit} is open from {opens_at.isoformat()} to {closes_at.isoformat()}",
                window=window, opens_at=opens_at.isoformat(), closes_at=closes_at.isoformat(),
            )

    def require_phase(self, *phases: str) -> None:
        if self.phase not in phases:
            raise WrongPhaseError(f"round {self.key} is in phase {self.phase}, not {' or '.join(phases)}",
                                  phase=self.phase)

    def unit(self, code: str) -> Unit:
        try:
            return self.units[code]
        except KeyError:
            raise NotFoundError(f"round {self.key} has no unit {code!r}", unit=code) from None
