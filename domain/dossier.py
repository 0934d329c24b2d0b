"""Dossier: one unit's self-assessment in a round: submitted, preliminary results released, its windows closed by
the scheduler at their (extended) close, the reminders it was sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain.base import ChainedAggregate
from domain.errors import AlreadySubmittedError, IncompleteSubmissionError, ReasonRequiredError, WrongUnitError
from domain.ids import dossier_id
from domain.round import Round
from domain.values import Context, Document, Role, blank


class Dossier(ChainedAggregate):
    TOPIC = "par:dossier"

    class Event(ChainedAggregate.Event):
        TOPIC = "par:dossier:event"

    class Created(ChainedAggregate.Created):
        TOPIC = "par:dossier:opened"
        round_key: str
        unit: str

    class Submitted(Event):
        TOPIC = "par:dossier:submitted"
        approved_by: str
        report: Document

        def apply(self, dossier: Dossier) -> None:
            dossier.submitted = True
            dossier.report = self.report

    class PreliminaryReleased(Event):
        TOPIC = "par:dossier:preliminary-released"

        def apply(self, dossier: Dossier) -> None:
            dossier.preliminary_released = True

    class WindowClosed(Event):
        """The unit's window closed at `closes_at` (its own extension counted): recorded once per close; an
        extension granted afterwards reopens the window and makes a later close due."""

        TOPIC = "par:dossier:window-closed"
        window: str
        closes_at: datetime

        def apply(self, dossier: Dossier) -> None:
            dossier.closed[self.window] = self.closes_at

    class ReminderIssued(Event):
        """A reminder of the work still missing before a close, `before` seconds ahead of it."""

        TOPIC = "par:dossier:reminder-issued"
        reminder_id: str
        window: str
        closes_at: datetime
        before: int
        missing: dict[str, list[str]]

        def apply(self, dossier: Dossier) -> None:
            dossier.reminders[self.reminder_id] = None

    class ReminderDelivered(Event):
        TOPIC = "par:dossier:reminder-delivered"
        reminder_id: str
        attempts: int

        def apply(self, dossier: Dossier) -> None:
            dossier.reminders[self.reminder_id] = self.timestamp  # type: ignore[attr-defined]

    def __init__(self, round_key: str, unit: str) -> None:
        self.round_key = round_key
        self.unit = unit
        self.submitted = False
        self.report: Document | None = None
        self.preliminary_released = False
        self.closed: dict[str, datetime] = {}  # window -> the close recorded last
        self.reminders: dict[str, datetime | None] = {}  # reminder id -> delivered at (None: not yet)

    @classmethod
    def open(cls, rnd: Round, unit: str, ctx: Context) -> Dossier:
        rnd.unit(unit)
        return cls._create(cls.Created, id=dossier_id(rnd.key, unit), round_key=rnd.key, unit=unit, **ctx.stamp())

    def submit(self, approved_by: str, report: Document, incomplete: Sequence[str], rnd: Round, ctx: Context) -> None:
        """Submission needs every appraisal leaf scored, with evidence or an explanation of its absence."""
        ctx.actor.require_role(Role.UNIT)
        if ctx.actor.unit != self.unit:
            raise WrongUnitError(f"an officer of unit {ctx.actor.unit} may not submit for unit {self.unit}")
        rnd.require_window("self_assessment", self.unit, ctx.now)
        if self.submitted:
            raise AlreadySubmittedError(f"unit {self.unit} has already submitted its self-assessment")
        if blank(approved_by):
            raise ReasonRequiredError("a submission names the authority that approved it")
        if incomplete:
            shown = ", ".join(incomplete[:10]) + (" …" if len(incomplete) > 10 else "")
            raise IncompleteSubmissionError(
                f"{len(incomplete)} leaves lack a score with evidence or an explanation: {shown}",
                leaves=list(incomplete),
            )
        self.trigger_event(self.Submitted, approved_by=approved_by, report=report, **ctx.stamp())

    def close_window(self, window: str, rnd: Round, ctx: Context) -> bool:
        """Record the close of `window` for this unit once its (extended) close has passed; idempotent: False
        when this close is recorded already (or not due yet)."""
        ctx.actor.require_role(Role.SYSTEM, Role.SECRETARIAT)
        closes_at = rnd.closes_at(window, self.unit)
        if ctx.now < closes_at or self.closed.get(window) == closes_at:
            return False
        self.trigger_event(self.WindowClosed, window=window, closes_at=closes_at, **ctx.stamp())
        return True

    def remind(self, reminder_id: str, window: str, closes_at: datetime, before: int,
               missing: dict[str, list[str]], ctx: Context) -> bool:
        """Record a reminder once (by its id); False when it was issued already or nothing is missing."""
        ctx.actor.require_role(Role.SYSTEM, Role.SECRETARIAT)
        if reminder_id in self.reminders or not any(missing.values()):
            return False
        self.trigger_event(self.ReminderIssued, reminder_id=reminder_id, window=window, closes_at=closes_at,
                           before=before, missing=missing, **ctx.stamp())
        return True

    def delivered(self, reminder_id: str, attempts: int, ctx: Context) -> bool:
        ctx.actor.require_role(Role.SYSTEM)
        if self.reminders.get(reminder_id, False) is not None:  # unknown, or delivered already
            return False
        self.trigger_event(self.ReminderDelivered, reminder_id=reminder_id, attempts=attempts, **ctx.stamp())
        return True

    def release_preliminary(self, ctx: Context) -> bool:
        ctx.actor.require_role(Role.SECRETARIAT)
        if self.preliminary_released:
            return False
        self.trigger_event(self.PreliminaryReleased, **ctx.stamp())
        return True
