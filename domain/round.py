"""Round: one year's appraisal for one level, with its units, criteria tree, windows and phase."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cached_property
from typing import Any

from domain.base import ChainedAggregate
from domain.errors import (
    InvalidRoundError,
    InvalidStepError,
    NotFoundError,
    PublishedByAnnouncementError,
    ReasonRequiredError,
    RoundFinishedError,
    StepAlreadyRecordedError,
    StepDateError,
    StepOutOfOrderError,
    WindowClosedError,
    WindowOpenError,
    WindowOverError,
    WindowsOverlapError,
    WrongPhaseError,
)
from domain.framework import Framework
from domain.ids import round_id, round_key
from domain.values import Context, Role, Unit, Window, blank

PHASES = ("self_assessment", "appraisal", "explanation", "council_review", "finalized", "published")
PUBLISHED = PHASES[-1]  # reached by the announcement (Round.announce), never by a phase change
WINDOWS = {"self_assessment": "self_assessment", "explanation": "explanation"}
VIETNAM = timezone(timedelta(hours=7), "ICT")  # the calendar of the meeting, the decision and the announcement


@dataclass(frozen=True)
class Meeting:
    """The Appraisal Council's meeting that agreed a finalized round's results: its day, the members present
    and the reference of its minutes ("Biên bản số 12/BB-HĐTĐ")."""

    held_on: date
    members: tuple[str, ...]
    minutes: str


@dataclass(frozen=True)
class Approval:
    """The Ministry's decision approving the results ("268/QĐ-BNV"), and its date."""

    decision_number: str
    decided_on: date


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

    # The end of a round: the Council's meeting, the Ministry's approval, the announcement that publishes the
    # results. Their days are ISO dates (YYYY-MM-DD), as a document's issued_on is.

    class CouncilMeetingHeld(Event):
        TOPIC = "par:round:council-meeting-held"
        held_on: str
        members: list[str]
        minutes: str

        def apply(self, round_: Round) -> None:
            round_.meeting = Meeting(date.fromisoformat(self.held_on), tuple(self.members), self.minutes)

    class ResultsApproved(Event):
        TOPIC = "par:round:results-approved"
        decision_number: str
        decided_on: str

        def apply(self, round_: Round) -> None:
            round_.approval = Approval(self.decision_number, date.fromisoformat(self.decided_on))

    class ResultsAnnounced(Event):
        """The public announcement: the round is published from it on."""

        TOPIC = "par:round:results-announced"
        announced_on: str

        def apply(self, round_: Round) -> None:
            round_.announced_on = date.fromisoformat(self.announced_on)
            round_.phase = PUBLISHED

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
        self.meeting: Meeting | None = None
        self.approval: Approval | None = None
        self.announced_on: date | None = None

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

    def require_advance(self, to_phase: str, ctx: Context, reason: str = "") -> None:
        """Phases move one step forward, by the Secretariat or the scheduler. Leaving a window's phase while
        that window is still open for some unit (its own extension counted) cuts it short: refused unless
        the command says why, and that reason is recorded. `published` is reached only by the announcement."""
        ctx.actor.require_role(Role.SECRETARIAT, Role.SYSTEM)
        if to_phase == PUBLISHED:
            raise PublishedByAnnouncementError(
                f"round {self.key} is published by its announcement, not by a phase change: once it is finalized, "
                "record the Appraisal Council's meeting, the Ministry's approval and the public announcement",
                phase=self.phase, steps=["meeting", "approval", "announcement"])
        if to_phase not in PHASES or PHASES.index(to_phase) != PHASES.index(self.phase) + 1:
            raise WrongPhaseError(f"round {self.key} is in {self.phase}; it cannot move to {to_phase!r}",
                                  phase=self.phase)
        for window, phase in WINDOWS.items():
            still_open = self.open_units(window, ctx.now)
            if phase == self.phase and still_open and blank(reason):
                last = max(still_open.values())
                shown = ", ".join(list(still_open)[:10]) + (" …" if len(still_open) > 10 else "")
                raise WindowOpenError(
                    f"the {window} window is open until {last.isoformat()} for units {shown}; moving round "
                    f"{self.key} to {to_phase} would cut it short: wait for the close or give the reason",
                    window=window, closes_at=last.isoformat(), units=list(still_open),
                )

    def advance(self, to_phase: str, ctx: Context, reason: str = "") -> None:
        self.require_advance(to_phase, ctx, reason)
        self.trigger_event(self.PhaseAdvanced, from_phase=self.phase, to_phase=to_phase, reason=reason, **ctx.stamp())

    def council_meeting(self, held_on: date, members: Sequence[str], minutes: str, ctx: Context) -> None:
        """The Appraisal Council's meeting that agreed the finalized results, recorded by the Secretariat, once: a
        second meeting is refused (409 step-already-recorded), never taken to supersede the first, which the
        approval and the announcement rest on. Member names and the minutes are kept without outer spaces."""
        ctx.actor.require_role(Role.SECRETARIAT)
        self.require_phase("finalized")
        if self.meeting is not None:
            raise StepAlreadyRecordedError(
                f"the Appraisal Council's meeting of round {self.key} is already recorded "
                f"({self.meeting.held_on.isoformat()}, {self.meeting.minutes}); it is recorded once",
                step="meeting", held_on=self.meeting.held_on.isoformat(), minutes=self.meeting.minutes)
        names = [] if isinstance(members, str) else [str(name).strip() for name in members]
        if not names or any(not name for name in names):
            raise InvalidStepError("a meeting needs the names of the members present, none of them blank")
        if len(set(names)) != len(names):
            raise InvalidStepError("a meeting names each member present once")
        if blank(minutes):
            raise InvalidStepError("a meeting needs the reference of its minutes")
        self._require_day("held_on", held_on, ctx)
        self.trigger_event(self.CouncilMeetingHeld, held_on=held_on.isoformat(), members=names,
                           minutes=minutes.strip(), **ctx.stamp())

    def approve(self, decision_number: str, decided_on: date, ctx: Context) -> None:
        """The Ministry's decision approving the results, recorded by the Secretariat once, after the meeting and
        dated on or after it."""
        ctx.actor.require_role(Role.SECRETARIAT)
        self.require_phase("finalized")
        if self.meeting is None:
            raise StepOutOfOrderError(f"round {self.key}: record the Appraisal Council's meeting before the approval",
                                      step="approval", missing="meeting")
        if self.approval is not None:
            raise StepAlreadyRecordedError(
                f"the approval of round {self.key} is already recorded ({self.approval.decision_number}); "
                "it is recorded once", step="approval", decision_number=self.approval.decision_number)
        if blank(decision_number):
            raise InvalidStepError("an approval needs the number of its decision")
        self._require_day("decided_on", decided_on, ctx, ("the meeting", self.meeting.held_on))
        self.trigger_event(self.ResultsApproved, decision_number=decision_number.strip(),
                           decided_on=decided_on.isoformat(), **ctx.stamp())

    def announce(self, announced_on: date, ctx: Context) -> None:
        """The public announcement, by the Secretariat, after the approval and dated on or after it: the round is
        published from it on (a second announcement finds it published: wrong-phase)."""
        ctx.actor.require_role(Role.SECRETARIAT)
        self.require_phase("finalized")
        if self.approval is None:
            missing = "meeting" if self.meeting is None else "approval"
            raise StepOutOfOrderError(f"round {self.key}: record the {missing} before the announcement",
                                      step="announcement", missing=missing)
        self._require_day("announced_on", announced_on, ctx, ("the approval", self.approval.decided_on))
        self.trigger_event(self.ResultsAnnounced, announced_on=announced_on.isoformat(), **ctx.stamp())

    @staticmethod
    def _require_day(name: str, day: date, ctx: Context, after: tuple[str, date] | None = None) -> None:
        """A step's day: a date, not after the day it is recorded in Vietnam, not before the step it follows."""
        if not isinstance(day, date) or isinstance(day, datetime):
            raise InvalidStepError(f"{name} is a date (YYYY-MM-DD)")
        today = ctx.now.astimezone(VIETNAM).date()
        if day > today:
            raise StepDateError(f"{name} {day.isoformat()} is after today ({today.isoformat()} in Vietnam): a step "
                                "is recorded once it has taken place",
                                **{name: day.isoformat(), "today": today.isoformat()})
        if after is not None and day < after[1]:
            raise StepDateError(f"{name} {day.isoformat()} is before {after[0]} ({after[1].isoformat()})",
                                **{name: day.isoformat(), "previous": after[1].isoformat()})

    def extend(self, window: str, closes_at: datetime, ctx: Context, *, reason: str, unit: str | None = None) -> None:
        """A later close for every unit or for one: only while the window's phase has not passed, and never
        keeping self-assessment open once the explanation window opens."""
        ctx.actor.require_role(Role.SECRETARIAT)
        if window not in self.windows:
            raise NotFoundError(f"round {self.key} has no window {window!r}")
        if unit is not None:
            self.unit(unit)
        if blank(reason):
            raise ReasonRequiredError("an extension needs a reason")
        if PHASES.index(self.phase) >= PHASES.index("finalized"):
            raise RoundFinishedError(f"round {self.key} is {self.phase}: its windows can no longer be extended",
                                     phase=self.phase, window=window)
        if PHASES.index(self.phase) > PHASES.index(WINDOWS[window]):
            raise WindowOverError(f"round {self.key} is in {self.phase}: the {window} phase is over",
                                  phase=self.phase, window=window)
        if closes_at <= self.closes_at(window, unit):
            raise InvalidRoundError(f"an extension must close after {self.closes_at(window, unit).isoformat()}")
        explanation_opens = self.windows["explanation"].opens_at
        if window == "self_assessment" and closes_at > explanation_opens:
            raise WindowsOverlapError(
                f"self-assessment must close by {explanation_opens.isoformat()}, when the explanation window opens",
                window=window, explanation_opens_at=explanation_opens.isoformat(),
            )
        self.trigger_event(self.WindowExtended, window=window, unit=unit, closes_at=closes_at, reason=reason,
                           **ctx.stamp())

    def closes_at(self, window: str, unit: str | None = None) -> datetime:
        """The close of a window for a unit: the later of the round-wide and the unit's own extension."""
        candidates = [self.windows[window].closes_at, self.extensions.get((window, None))]
        if unit is not None:
            candidates.append(self.extensions.get((window, unit)))
        return max(c for c in candidates if c is not None)

    def open_units(self, window: str, now: datetime) -> dict[str, datetime]:
        """The units whose window has not closed yet at `now` (opened or not), with its close for each."""
        closes = {code: self.closes_at(window, code) for code in self.units}
        return {code: at for code, at in closes.items() if now < at}

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
