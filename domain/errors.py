"""Named domain errors; each carries the stable problem `type` the API reports."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the appraisal process refused a command."""

    type = "domain-error"
    status = 422

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details


class InvalidPointsError(DomainError):
    type = "invalid-points"


class PointsOutOfRangeError(InvalidPointsError):
    type = "points-out-of-range"


class PointsOffGridError(InvalidPointsError):
    type = "points-off-grid"


class SurveyLeafError(DomainError):
    """Survey leaves are scored only from the sociological survey."""

    type = "survey-leaf"


class NotSurveyLeafError(DomainError):
    type = "not-survey-leaf"


class NotTargetsLeafError(DomainError):
    type = "not-targets-leaf"


class WindowClosedError(DomainError):
    type = "window-closed"
    status = 409


class WindowOpenError(DomainError):
    """A phase change (or a silence taken as acceptance) would cut a unit's open window short; a phase change
    may still do it when it carries an explicit reason, which is then recorded."""

    type = "window-open"
    status = 409


class WindowsOverlapError(DomainError):
    """An extension would keep the self-assessment window open once the explanation window opens."""

    type = "windows-overlap"
    status = 409


class WindowOverError(DomainError):
    """An extension of a window whose phase is over: nobody can write in it any more."""

    type = "window-over"
    status = 409


class RoundFinishedError(WindowOverError):
    """An extension of a window of a finalized or published round."""

    type = "round-finished"


class WrongPhaseError(DomainError):
    type = "wrong-phase"
    status = 409


class PublishedByAnnouncementError(WrongPhaseError):
    """A round is published by its public announcement, recorded after the Appraisal Council's meeting and the
    Ministry's approval; never by a phase change."""

    type = "published-by-announcement"


class StepOutOfOrderError(DomainError):
    """A step at the end of a round before the one it rests on: the approval before the Council's meeting, the
    announcement before the approval."""

    type = "step-out-of-order"
    status = 409


class StepAlreadyRecordedError(DomainError):
    """The Council's meeting or the Ministry's approval recorded a second time: each is recorded once."""

    type = "step-already-recorded"
    status = 409


class InvalidStepError(DomainError):
    """A step at the end of a round without what it needs: the members present, the minutes, the decision number."""

    type = "invalid-step"


class StepDateError(InvalidStepError):
    """A step dated before the step it follows, or after the day it is recorded (in Vietnam)."""

    type = "step-date"


class ReasonRequiredError(DomainError):
    type = "reason-required"


class VersionConflictError(DomainError):
    type = "version-conflict"
    status = 409


class PermissionDeniedError(DomainError):
    type = "forbidden"
    status = 403


class ForbiddenRoleError(PermissionDeniedError):
    type = "forbidden-role"


class ForbiddenScopeError(PermissionDeniedError):
    type = "forbidden-scope"


class WrongUnitError(ForbiddenScopeError):
    """A unit officer only writes their own unit's dossier."""


class FieldNotAssignedError(ForbiddenScopeError):
    """A council member only adjusts the fields assigned to them."""


class OwnMinistryError(ForbiddenScopeError):
    """A council member never appraises their own ministry."""


class ExplanationAlreadyOpenError(DomainError):
    type = "explanation-already-open"
    status = 409


class ExplanationNotOpenError(DomainError):
    type = "explanation-not-open"
    status = 409


class OpenExplanationsError(DomainError):
    type = "open-explanations"
    status = 409


class IncompleteSubmissionError(DomainError):
    type = "incomplete-submission"


class AlreadySubmittedError(DomainError):
    type = "already-submitted"
    status = 409


class EvidenceAlreadyAttachedError(DomainError):
    type = "evidence-already-attached"
    status = 409


class NotFoundError(DomainError):
    type = "not-found"
    status = 404


class AlreadyExistsError(DomainError):
    type = "already-exists"
    status = 409


class InvalidRoundError(DomainError):
    type = "invalid-round"


class FrameworkError(DomainError):
    """A criteria tree that does not add up; the message names the node."""

    type = "invalid-framework"


class InvalidDocumentError(DomainError):
    type = "invalid-document"


class InvalidPrincipalError(DomainError):
    """A principal needs a name without spaces, a role, and the scope that role acts in."""

    type = "invalid-principal"


class PrincipalRevokedError(DomainError):
    type = "principal-revoked"
    status = 409


class UnsupportedMediaTypeError(DomainError):
    """An evidence file whose media type is not on the allow-list (COUNCIL_EVIDENCE_TYPES)."""

    type = "unsupported-media-type"
    status = 415


class EvidenceTooLargeError(DomainError):
    """An evidence file over the size limit (COUNCIL_EVIDENCE_MAX_BYTES); nothing of it is kept."""

    type = "payload-too-large"
    status = 413


class InvalidQueryError(DomainError):
    type = "invalid-query"


class NoSigningKeyError(DomainError):
    type = "no-signing-key"
    status = 409


class UnsoundLogError(DomainError):
    """A checkpoint is not signed over a log holding an event whose hash or seal does not hold: signing it would
    vouch for an event the council's services did not write."""

    type = "unsound-log"
    status = 409
