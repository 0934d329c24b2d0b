"""Dossier: one unit's self-assessment in a round: submitted, preliminary results released."""

from __future__ import annotations

from collections.abc import Sequence

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

    def __init__(self, round_key: str, unit: str) -> None:
        self.round_key = round_key
        self.unit = unit
        self.submitted = False
        self.report: Document | None = None
        self.preliminary_released = False

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

    def release_preliminary(self, ctx: Context) -> bool:
        ctx.actor.require_role(Role.SECRETARIAT)
        if self.preliminary_released:
            return False
        self.trigger_event(self.PreliminaryReleased, **ctx.stamp())
        return True
