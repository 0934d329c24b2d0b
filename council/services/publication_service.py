"""The end of a round, after finalization: the Appraisal Council's meeting, the Ministry's approval and the public
announcement that publishes the results (the only way a round reaches `published`)."""

from __future__ import annotations

from datetime import date

from council.services.application import CouncilBase, Receipt
from domain.ids import round_id
from domain.round import Approval, Meeting
from domain.values import Actor

__all__ = ["Approval", "Meeting", "PublicationServices"]


class PublicationServices(CouncilBase):
    def record_council_meeting(self, key: str, meeting: Meeting, actor: Actor) -> Receipt:
        """The meeting that agreed the finalized results; recorded once (a second one is refused, 409)."""
        rnd = self._load(round_id(key), f"round {key}")
        rnd.council_meeting(meeting.held_on, meeting.members, meeting.minutes, self.context(actor))
        return self._save(rnd)[-1]

    def record_approval(self, key: str, approval: Approval, actor: Actor) -> Receipt:
        """The Ministry's decision approving the results: after the meeting, dated on or after it."""
        rnd = self._load(round_id(key), f"round {key}")
        rnd.approve(approval.decision_number, approval.decided_on, self.context(actor))
        return self._save(rnd)[-1]

    def announce(self, key: str, announced_on: date, actor: Actor) -> Receipt:
        """The public announcement, after the approval and dated on or after it: the round is published."""
        rnd = self._load(round_id(key), f"round {key}")
        rnd.announce(announced_on, self.context(actor))
        return self._save(rnd)[-1]
