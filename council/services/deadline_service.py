"""Deadlines that act by themselves (issue 11, docs/decisions/0012): what is due, derived from the log alone (the
rounds' windows, their extensions, the dossiers' recorded closes and reminders), and acting on what is due now.

Every action is idempotent and keyed by what the log already holds: a unit's close is recorded once per effective
close (an extension granted afterwards makes a later close due), a reminder once per (window, close, offset).
Two schedulers acting at once conflict on the dossier's version; the loser finds the work done on its next look."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from eventsourcing.utils import get_topic

from council.services.application import Receipt
from council.services.phase_service import PhaseServices
from domain.dossier import Dossier
from domain.errors import VersionConflictError
from domain.ids import dossier_id, score_id
from domain.round import WINDOWS, Round
from domain.values import SYSTEM, Actor, Role

FINISHED = ("finalized", "published")
# The phases in which a window's close is acted on: the explanation close accepts silence, which needs its phase.
CLOSE_PHASES = {"self_assessment": ("self_assessment", "appraisal", "explanation", "council_review"),
                "explanation": ("explanation", "council_review")}
PAGE = 1000
ICT = timezone(timedelta(hours=7), "ICT")  # Asia/Ho_Chi_Minh: no daylight saving time since 1975


@dataclass(frozen=True, order=True)
class Due:
    """One thing the scheduler does at `at`: close a unit's window, or remind it `before` seconds ahead."""

    at: datetime
    kind: str  # "close" | "remind"
    round_key: str
    window: str
    unit: str
    before: int = 0

    @property
    def job_id(self) -> str:
        return f"{self.kind}:{self.round_key}:{self.window}:{self.unit}:{self.before}"


def reminder_id(window: str, closes_at: datetime, before: int) -> str:
    return f"{window}@{closes_at.isoformat()}-{before}s"


class DeadlineServices(PhaseServices):
    def round_keys(self) -> list[str]:
        """Every round ever opened, in the order opened."""
        keys: list[str] = []
        start = 1
        topic = get_topic(Round.Created)
        while page := self.recorder.select_notifications(start=start, limit=PAGE, topics=[topic]):
            keys.extend(str(self.mapper.to_domain_event(n).key) for n in page)  # type: ignore[attr-defined]
            start = page[-1].id + 1
        return keys

    def due(self, offsets: Sequence[int]) -> list[Due]:
        """Every close and reminder not yet recorded, past and future, in time order. Of a close's reminders
        whose time has passed only the latest is still due (a scheduler down for a week sends one, not three)."""
        now = self.clock()
        found: list[Due] = []
        for key in self.round_keys():
            rnd = self._round(key)
            if rnd.phase in FINISHED:
                continue
            for window in rnd.windows:
                for unit in rnd.units:
                    found.extend(self._due_for(rnd, window, unit, now, offsets))
        return sorted(found)

    def _due_for(self, rnd: Round, window: str, unit: str, now: datetime, offsets: Sequence[int]) -> list[Due]:
        closes = rnd.closes_at(window, unit)
        dossier: Dossier | None = self._peek(dossier_id(rnd.key, unit))
        found = []
        if rnd.phase in CLOSE_PHASES[window] and (dossier is None or dossier.closed.get(window) != closes):
            found.append(Due(closes, "close", rnd.key, window, unit))
        if rnd.phase == WINDOWS[window] and now < closes:
            issued = {} if dossier is None else dossier.reminders
            passed = [b for b in offsets if closes - timedelta(seconds=b) <= now]
            latest_passed = min(passed) if passed else None
            for before in offsets:
                at = closes - timedelta(seconds=before)
                if (at > now or before == latest_passed) and reminder_id(window, closes, before) not in issued:
                    found.append(Due(at, "remind", rnd.key, window, unit, before))
        return found

    def act_on_deadlines(self, offsets: Sequence[int], actor: Actor = SYSTEM) -> dict[str, Any]:
        """Do everything due by now: record each unit's close (at the explanation close, with the acceptance of
        every leaf it left unexplained, in one save per unit) and each reminder of missing work."""
        now = self.clock()
        done: dict[str, Any] = {"closed": 0, "accepted": 0, "reminded": 0, "conflicts": 0, "closed_units": []}
        for item in self.due(offsets):
            if item.at > now:
                break
            try:
                if item.kind == "close":
                    accepted = self._close(item, actor)
                    if accepted is not None:
                        done["closed"] += 1
                        done["accepted"] += accepted
                        done["closed_units"].append([item.round_key, item.window, item.unit])
                elif self._remind(item, actor):
                    done["reminded"] += 1
            except VersionConflictError:  # another writer saved the dossier or a score first: looked at again
                done["conflicts"] += 1
        return done

    def _close(self, item: Due, actor: Actor) -> int | None:
        """The unit's close and, at the explanation close, silence as acceptance: one atomic save. None when
        there was nothing left to record."""
        rnd, ctx = self._round(item.round_key), self.context(actor)
        dossier = self._dossier(rnd, item.unit, ctx)
        closed = dossier.close_window(item.window, rnd, ctx)
        accepted = []
        if item.window == "explanation":
            scores = [self._score(rnd, item.unit, leaf.code, ctx) for leaf in rnd.framework.leaves("appraisal")]
            accepted = [score for score in scores if score.accept_preliminary(rnd, ctx)]
        if not closed and not accepted:
            return None
        self._save(dossier, *accepted)
        return len(accepted)

    def _remind(self, item: Due, actor: Actor) -> bool:
        rnd, ctx = self._round(item.round_key), self.context(actor)
        closes = rnd.closes_at(item.window, item.unit)
        missing = self.missing_work(rnd, item.unit, item.window)
        dossier = self._dossier(rnd, item.unit, ctx)
        if not dossier.remind(reminder_id(item.window, closes, item.before), item.window, closes, item.before,
                              missing, ctx):
            return False
        self._save(dossier)
        return True

    def missing_work(self, rnd: Round, unit: str, window: str) -> dict[str, list[str]]:
        """What a unit still has to do before the window closes, leaf by leaf (empty lists: nothing)."""
        leaves = rnd.framework.leaves("appraisal")
        scores = {leaf.code: self._peek(score_id(rnd.key, unit, leaf.code)) for leaf in leaves}
        if window == "explanation":
            return {"unexplained_differences": [
                code for code, score in scores.items()
                if score is not None and score.proposed_points is not None and score.self_points is not None
                and score.proposed_points != score.self_points and not score.explanations
                and not score.preliminary_accepted]}
        dossier = self._peek(dossier_id(rnd.key, unit))
        return {
            "unscored": [code for code, score in scores.items() if score is None or score.self_points is None],
            "without_evidence": [code for code, score in scores.items() if score is not None
                                 and score.self_points is not None and not score.evidence
                                 and not score.missing_evidence_note],
            "dossier_unsubmitted": [] if dossier is not None and dossier.submitted else [unit],
        }

    def reminders(self, reader: Actor, round_key: str | None = None, unit: str | None = None,
                  pending: bool = False) -> list[dict[str, Any]]:
        """The outbox: every reminder issued, with when it was delivered to the webhook (None: not yet). A unit's
        officer sees only their own unit's."""
        reader.require_role(Role.SECRETARIAT, Role.COUNCIL, Role.INSPECTOR, Role.ADMIN, Role.SYSTEM, Role.UNIT)
        if reader.role == Role.UNIT:
            unit = reader.unit
        found: dict[tuple[str, str, str], dict[str, Any]] = {}
        topics = [get_topic(Dossier.ReminderIssued), get_topic(Dossier.ReminderDelivered)]
        start = 1
        while page := self.recorder.select_notifications(start=start, limit=PAGE, topics=topics):
            for notification in page:
                event: Any = self.mapper.to_domain_event(notification)
                dossier: Any = self._peek(event.originator_id)
                place = (dossier.round_key, dossier.unit, event.reminder_id)
                if isinstance(event, Dossier.ReminderIssued):
                    found[place] = {"round": place[0], "unit": place[1], "reminder_id": event.reminder_id,
                                    "window": event.window, "closes_at": event.closes_at, "before": event.before,
                                    "missing": event.missing, "issued_at": event.timestamp,
                                    "delivered_at": None, "attempts": 0, "position": notification.id}
                elif place in found:
                    found[place]["delivered_at"], found[place]["attempts"] = event.timestamp, event.attempts
            start = page[-1].id + 1
        return [row for row in found.values()
                if (round_key is None or row["round"] == round_key) and (unit is None or row["unit"] == unit)
                and not (pending and row["delivered_at"] is not None)]

    def reminder_delivered(self, round_key: str, unit: str, reminder: str, attempts: int,
                           actor: Actor = SYSTEM) -> list[Receipt]:
        rnd, ctx = self._round(round_key), self.context(actor)
        dossier = self._dossier(rnd, unit, ctx)
        if not dossier.delivered(reminder, attempts, ctx):
            return []
        return self._save(dossier)

    def countdown(self, key: str, unit: str | None = None) -> dict[str, Any]:
        """Per window: when it opens and its effective close (for `unit`, its own extension counted), in UTC and
        in ICT, the seconds left and whether it is closed."""
        rnd, now = self._round(key), self.clock()
        if unit is not None:
            rnd.unit(unit)
        answer = {}
        for window, spec in rnd.windows.items():
            closes = rnd.closes_at(window, unit)
            answer[window] = {"opens_at": spec.opens_at.astimezone(UTC), "closes_at": closes.astimezone(UTC),
                              "opens_at_ict": spec.opens_at.astimezone(ICT), "closes_at_ict": closes.astimezone(ICT),
                              "seconds_left": max(0, int((closes - now).total_seconds())), "closed": now >= closes}
        return answer

    def dossier(self, key: str, unit: str, reader: Actor) -> dict[str, Any]:
        """A unit's dossier: submitted, preliminary results released, its windows' countdown, the closes the
        scheduler recorded, the reminders it was sent and what is still missing in the open window."""
        reader.require_reader(unit)
        rnd = self._round(key)
        rnd.unit(unit)
        found: Dossier | None = self._peek(dossier_id(key, unit))
        window = next((w for w, phase in WINDOWS.items() if phase == rnd.phase), None)
        return {
            "round": key, "unit": unit, "phase": rnd.phase,
            "submitted": bool(found and found.submitted),
            "preliminary_released": bool(found and found.preliminary_released),
            "countdown": self.countdown(key, unit),
            "closed": {} if found is None else {w: at.astimezone(UTC) for w, at in found.closed.items()},
            "reminders": [] if found is None else sorted(found.reminders),
            "missing": None if window is None else {"window": window, **self.missing_work(rnd, unit, window)},
        }
