"""Marshmallow schemas: they validate requests and, through flask-smorest, write the OpenAPI document."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, get_type_hints

from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_dump, validate

from api import input_limits as limits
from api import wiring
from domain.errors import DomainError
from domain.round import PHASES
from domain.values import POINTS_PATTERN, to_points
from projections import rows

SHA256 = "^[0-9a-f]{64}$"


class Points(fields.Field):
    """Points as an exact decimal string with at most two places ("1.25"); JSON numbers are refused,
    because a float cannot say 0.1 exactly. The text must match POINTS_PATTERN (ASCII digits only)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {"pattern": POINTS_PATTERN, "example": "1.25", **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if not isinstance(value, str):
            raise ValidationError('points are a decimal string such as "1.25"')
        try:
            return to_points(value)
        except DomainError as error:
            raise ValidationError(str(error)) from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(Decimal(str(value)).quantize(Decimal("0.01")))


class Whole(fields.Integer):
    """A whole number in [minimum, INTEGER_MAX]: a JSON integer (never a float or a boolean) or ASCII digits (a
    query), so a version, cursor or notification id never overflows the database's 64-bit integers."""

    DIGITS = re.compile(r"[0-9]{1,32}")

    def __init__(self, *, minimum: int = 0, maximum: int = limits.INTEGER_MAX, **kwargs: Any) -> None:
        super().__init__(strict=True, validate=validate.Range(min=minimum, max=maximum), **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, str):
            if not self.DIGITS.fullmatch(value):
                raise self.make_error("invalid", input=value)
            value = int(value)
        return super()._validated(value)


def storable(value: str) -> None:
    """U+0000 and unpaired surrogates: refused in JSON bodies before any work (api/input_limits.py), and here
    for the fields of a multipart form, which that check does not read."""
    if limits.unstorable(value):
        raise ValidationError("U+0000 and unpaired UTF-16 surrogates cannot be stored")


def text(maximum: int, *, required: bool = False, minimum: int = 0, **kwargs: Any) -> fields.Str:
    """A string field of at most `maximum` characters (api/input_limits.py), documented as maxLength."""
    return fields.Str(required=required, validate=[validate.Length(min=minimum or None, max=maximum), storable],
                      **kwargs)


class Percent(fields.Field):
    """A percentage or average shown with two decimals, as a string like points ("97.06")."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(Decimal(value).quantize(Decimal("0.01")))


class ReceiptSchema(Schema):
    stream = fields.UUID(required=True)
    version = fields.Int(required=True)
    type = fields.Str(required=True)
    event_hash = fields.Str(required=True)
    recorded_at = fields.AwareDateTime(required=True)
    notification_id = fields.Int(required=True)
    request_id = fields.Str(required=True, metadata={"description": "the X-Request-ID the event was recorded under"})
    key_id = fields.Str(dump_only=True, allow_none=True, metadata={
        "description": "the council key that signed this receipt (GET /api/v1/keys); null only before a key exists"})
    signature = fields.Str(dump_only=True, allow_none=True, metadata={
        "description": "base64 Ed25519 signature over the receipt's other fields (docs/decisions/0008)"})

    @post_dump
    def sign(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Signed as it is answered, so a fresh answer and a replayed one (Idempotency-Key) are signed alike."""
        return data | wiring.components().keyring.sign_receipt(data)


class UnitSchema(Schema):
    code = text(limits.UNIT_CODE_MAX, required=True, minimum=1)
    name = text(limits.NAME_MAX, required=True, minimum=1)
    region = text(limits.NAME_MAX, load_default="")
    ranked = fields.Bool(load_default=True)


class WindowSchema(Schema):
    opens_at = fields.AwareDateTime(required=True)
    closes_at = fields.AwareDateTime(required=True)


class WindowsSchema(Schema):
    self_assessment = fields.Nested(WindowSchema, required=True)
    explanation = fields.Nested(WindowSchema, required=True)


class RoundOpenSchema(Schema):
    year = Whole(required=True, minimum=2012, maximum=2100)
    framework = text(limits.CODE_MAX, required=True, minimum=1, metadata={"example": "province-876-2022"})
    units = fields.List(fields.Nested(UnitSchema), required=True,
                        validate=validate.Length(min=1, max=limits.UNITS_MAX))
    windows = fields.Nested(WindowsSchema, required=True)
    thresholds = fields.Dict(keys=text(limits.CODE_MAX, minimum=1), values=Points(),
                             validate=validate.Length(max=limits.THRESHOLDS_MAX), metadata={"example": {"A": "90.00"}})


class RoundSchema(Schema):
    key = fields.Str()
    year = fields.Int()
    level = fields.Str()
    phase = fields.Str()
    version = fields.Int()
    framework = fields.Dict()
    units = fields.List(fields.Nested(UnitSchema))
    windows = fields.Dict(keys=fields.Str(), values=fields.Nested(WindowSchema))
    extensions = fields.List(fields.Dict())
    thresholds = fields.Dict(keys=fields.Str(), values=Points())
    # The end of the round (null until recorded); their schemas are at the end of this module.
    meeting = fields.Nested(lambda: MeetingSchema(), allow_none=True)
    approval = fields.Nested(lambda: ApprovalSchema(), allow_none=True)
    announcement = fields.Nested(lambda: AnnouncementSchema(), allow_none=True)


class PhaseSchema(Schema):
    phase = fields.Str(required=True, validate=validate.OneOf(PHASES))
    reason = text(limits.REASON_MAX, load_default="")


class ExtensionSchema(Schema):
    window = fields.Str(required=True, validate=validate.OneOf(["self_assessment", "explanation"]))
    closes_at = fields.AwareDateTime(required=True)
    reason = text(limits.REASON_MAX, required=True, minimum=1)
    unit = text(limits.UNIT_CODE_MAX, load_default=None)


class SelfScoreSchema(Schema):
    points = Points(required=True)
    note = text(limits.REASON_MAX, load_default="")


class AppraisalSchema(Schema):
    points = Points(required=True)
    comment = text(limits.REASON_MAX, load_default="")


class AdjustmentSchema(Schema):
    points = Points(required=True)
    reason = text(limits.REASON_MAX, required=True, minimum=1)


class ExplanationSchema(Schema):
    argument = text(limits.EXPLANATION_MAX, required=True, minimum=1)
    requested_points = Points(load_default=None)
    evidence = fields.List(fields.Str(validate=validate.Regexp(SHA256)), load_default=list,
                           validate=validate.Length(max=limits.DOCUMENTS_MAX))


class ExplanationFiledSchema(ReceiptSchema):
    explanation_id = fields.Str(required=True)


class DecisionSchema(Schema):
    accept = fields.Bool(required=True)
    points = Points(load_default=None)
    reason = text(limits.REASON_MAX, required=True, minimum=1)


class DocumentSchema(Schema):
    """A document by the hash of a file the unit stored; its size and media type come from the stored bytes
    (a declared media type must agree with them)."""

    sha256 = fields.Str(required=True, validate=validate.Regexp(SHA256))
    name = text(limits.NAME_MAX, required=True, minimum=1)
    media_type = text(limits.NAME_MAX, load_default=None, dump_default=None)
    size = Whole(load_default=None, metadata={"description": "ignored on input: the stored file says"})
    number = text(limits.NAME_MAX, load_default="")
    issued_on = text(limits.CODE_MAX, load_default="")
    issuer = text(limits.NAME_MAX, load_default="")


class SubmissionSchema(Schema):
    approved_by = text(limits.NAME_MAX, required=True, minimum=1)
    report = fields.Nested(DocumentSchema, required=True)


class ScoreSchema(Schema):
    round = fields.Str()
    unit = fields.Str()
    leaf = fields.Str()
    field = fields.Str()
    method = fields.Str()
    max_points = Points()
    self_points = Points(allow_none=True)
    proposed_points = Points(allow_none=True)
    adjusted_points = Points(allow_none=True)
    points = Points(allow_none=True)
    final_points = Points(allow_none=True)
    status = fields.Str()
    evidence = fields.List(fields.Nested(DocumentSchema))
    missing_evidence_note = fields.Str()
    explanations = fields.Dict(keys=fields.Str(), values=fields.Str())
    preliminary_accepted = fields.Bool()
    version = fields.Int()
    hash = fields.Str()


class HistoryQuerySchema(Schema):
    version = Whole()
    as_of = fields.AwareDateTime()


class HistoryEventSchema(Schema):
    version = fields.Int()
    type = fields.Str()
    recorded_at = fields.AwareDateTime()
    actor = fields.Dict()
    request_id = fields.Str()
    reason = fields.Str()
    points_before = Points(allow_none=True)
    points_after = Points(allow_none=True)
    data = fields.Dict()
    prev_hash = fields.Str()
    hash = fields.Str()


class BrokenAtSchema(Schema):
    version = fields.Int(metadata={"description": "the first version that is missing or does not verify"})
    reason = fields.Str()


class HistorySchema(Schema):
    state = fields.Nested(ScoreSchema, allow_none=True)
    events = fields.List(fields.Nested(HistoryEventSchema))
    verified = fields.Bool()
    broken = fields.Nested(BrokenAtSchema, allow_none=True,
                           metadata={"description": "where the stream stops being its own record; the replay stops "
                                                    "before it"})


class HealthSchema(Schema):
    status = fields.Str()
    database = fields.Str(metadata={"description": "ok: the database answered a query of the events table"})
    backend = fields.Str(metadata={"example": "postgresql"})
    events = fields.Int(metadata={"description": "the log's last notification id (with gaps on PostgreSQL)"})
    projection_lag = fields.Int(metadata={"description": "events the views have yet to apply"})
    scheduler = fields.Dict(allow_none=True, metadata={
        "description": "what `council scheduler` last wrote: leader, last_run (when, what it closed, accepted and "
                       "reminded), next_job (id, at), updated_at; null when no scheduler ran with this data folder"})


class EvidenceFormSchema(Schema):
    """Document metadata sent beside the uploaded file (multipart form fields)."""

    number = text(limits.NAME_MAX, load_default="")
    issued_on = fields.Date(load_default=None)
    issuer = text(limits.NAME_MAX, load_default="")


class EvidenceFileSchema(Schema):
    file = Upload(required=True, metadata={
        "description": "the file's bytes, with its media type: PDF, PNG, JPEG, DOCX, XLSX or ZIP by default"})


class EvidenceUploadSchema(EvidenceFormSchema, EvidenceFileSchema):
    """The multipart/form-data body of an upload to a score: the file and the document's metadata. It documents
    the body; the view reads the fields with EvidenceFormSchema and the file with EvidenceFileSchema."""


class StoredFileSchema(Schema):
    sha256 = fields.Str(required=True)
    size = fields.Int(required=True)
    media_type = fields.Str(required=True)


class EvidenceByHashSchema(Schema):
    sha256 = fields.Str(required=True, validate=validate.Regexp(SHA256))
    name = text(limits.NAME_MAX, required=True, minimum=1)
    number = text(limits.NAME_MAX, load_default="")
    issued_on = fields.Date(load_default=None)
    issuer = text(limits.NAME_MAX, load_default="")


class WithdrawalSchema(Schema):
    reason = text(limits.REASON_MAX, required=True, minimum=1)


class FormDocumentSchema(Schema):
    """A document in a form, by the hash of a file the unit already uploaded."""

    sha256 = fields.Str(required=True, validate=validate.Regexp(SHA256))
    name = text(limits.NAME_MAX, required=True, minimum=1)
    number = text(limits.NAME_MAX, load_default="")
    issued_on = text(limits.CODE_MAX, load_default="")
    issuer = text(limits.NAME_MAX, load_default="")


class FormEntrySchema(Schema):
    leaf = text(limits.CODE_MAX, required=True, minimum=1)
    points = Points(required=True)
    note = text(limits.REASON_MAX, load_default="")
    evidence = fields.List(fields.Nested(FormDocumentSchema), load_default=list,
                           validate=validate.Length(max=limits.DOCUMENTS_MAX))
    missing_evidence = text(limits.EXPLANATION_MAX, load_default="")


class SelfAssessmentFormSchema(Schema):
    entries = fields.List(fields.Nested(FormEntrySchema), required=True,
                          validate=validate.Length(min=1, max=limits.FORM_ENTRIES_MAX))


class SurveyRowSchema(Schema):
    unit = text(limits.UNIT_CODE_MAX, required=True, minimum=1)
    leaf = text(limits.CODE_MAX, required=True, minimum=1)
    points = Points(required=True)


class SurveyImportSchema(Schema):
    source = text(limits.NAME_MAX, required=True, minimum=1)
    results = fields.List(fields.Nested(SurveyRowSchema), required=True,
                          validate=validate.Length(min=1, max=limits.SURVEY_ROWS_MAX))


SIGNED_POINTS = r"^-?[0-9]{1,3}\.[0-9]{2}$"  # a change of points: "-3.25", "0.00", "12.50"


class PreviousResultSchema(Schema):
    round = fields.Str(metadata={"description": "the previous round of the same level"})
    rank = fields.Int(allow_none=True)
    index = Points()


class UnitResultSchema(Schema):
    unit = fields.Nested(UnitSchema)
    fields_ = fields.Dict(data_key="fields", attribute="fields", keys=fields.Str(), values=Points(),
                          metadata={"description": "points per field, out of the round's `maxima`"})
    components = fields.Dict(keys=fields.Str(), values=Percent())
    index = Points()
    rank = fields.Int(allow_none=True)
    group = fields.Str(allow_none=True)
    field_ranks = fields.Dict(keys=fields.Str(), values=fields.Int(allow_none=True), metadata={
        "description": "rank among the ranked units, field by field (ties share a rank); null when not ranked"})
    parts = fields.Dict(keys=fields.Str(), values=Points(), metadata={
        "description": "the unit's points per leaf method: appraisal, targets, survey (0.00 when none)"})
    previous = fields.Nested(PreviousResultSchema, allow_none=True, metadata={
        "description": "the unit's result in the previous round of the same level; null when it has none"})
    rank_change = fields.Int(allow_none=True, metadata={
        "description": "previous rank − rank: positive when the unit rose; null unless ranked in both rounds"})
    index_change = Points(allow_none=True, metadata={"pattern": SIGNED_POINTS, "example": "-1.25",
                                                     "description": "index − previous index"})
    new = fields.Bool(metadata={"description": "true when the previous round has no result for this unit"})


class MovementSchema(Schema):
    units = fields.List(fields.Str())
    change = fields.Int(metadata={"description": "places risen (positive) or fallen (negative)"})


class IndexMovesSchema(Schema):
    rose = fields.Int(metadata={"description": "units whose index rose against the previous round"})
    fell = fields.Int()
    largest_rise = Points(allow_none=True, metadata={"pattern": SIGNED_POINTS})
    smallest_rise = Points(allow_none=True, metadata={"pattern": SIGNED_POINTS})
    largest_fall = Points(allow_none=True, metadata={"pattern": SIGNED_POINTS, "example": "-2.91"})
    smallest_fall = Points(allow_none=True, metadata={"pattern": SIGNED_POINTS, "example": "-0.51"})


class ResultsSummarySchema(Schema):
    ranked = fields.Int()
    mean = Percent(allow_none=True, metadata={"description": "mean index of the ranked units"})
    above_mean = fields.Int()
    groups = fields.Dict(keys=fields.Str(), values=fields.Int(), metadata={
        "description": "ranked units per group, every group of the thresholds"})
    ungrouped = fields.Int(metadata={"description": "ranked units below the lowest group"})
    regions = fields.Dict(keys=fields.Str(), values=Percent())
    previous_round = fields.Str(allow_none=True)
    compared = fields.Int(metadata={"description": "units ranked in both rounds"})
    rose = fields.Int()
    fell = fields.Int()
    stayed = fields.Int()
    new = fields.Int()
    largest_rise = fields.Nested(MovementSchema, allow_none=True)
    largest_fall = fields.Nested(MovementSchema, allow_none=True)
    index_moves = fields.Nested(IndexMovesSchema, allow_none=True, metadata={
        "description": "the index changes, as announced: how many rose and fell, the largest and smallest of each"})


class ResultsSchema(Schema):
    round = fields.Str()
    phase = fields.Str()
    previous_round = fields.Str(allow_none=True, metadata={
        "description": "the round of the same level and the greatest earlier year the units are compared with"})
    maxima = fields.Dict(keys=fields.Str(), values=Points(), metadata={"description": "each field's maximum"})
    units = fields.List(fields.Nested(UnitResultSchema))
    averages = fields.Dict(keys=fields.Str(), values=Percent())
    summary = fields.Nested(ResultsSummarySchema)


class FrameworkSummarySchema(Schema):
    id = fields.Str()
    level = fields.Str()
    title = fields.Str()
    hash = fields.Str()


class FrameworkSchema(FrameworkSummarySchema):
    data = fields.Dict()


VERIFY_SAMPLE_MAX = 1_000_000


class VerifyQuerySchema(Schema):
    round = text(limits.CODE_MAX)
    sample = fields.Int(validate=validate.Range(min=1, max=VERIFY_SAMPLE_MAX), metadata={
        "description": "re-hash a random sample of this many evidence files instead of all of them"})
    views = fields.Bool(load_default=False, metadata={
        "description": "also compare the read views with a fresh fold of the log (slow: it folds the whole log)"})


class BrokenSchema(Schema):
    position = fields.Int()
    stream = fields.Str()
    version = fields.Int()
    type = fields.Str()
    reason = fields.Str()
    checkpoint = fields.Int(metadata={"description": "the tree size of the checkpoint that does not hold, when the "
                                                     "problem is a checkpoint's"})


class EvidenceProblemSchema(Schema):
    sha256 = fields.Str()
    stream = fields.Str()
    reason = fields.Str()


class EvidenceCheckSchema(Schema):
    blobs = fields.Int(metadata={"description": "evidence files recorded in the log"})
    checked = fields.Int(metadata={"description": "of them re-hashed (all, or the sample asked for)"})
    problems = fields.Int()
    first_problem = fields.Nested(EvidenceProblemSchema, allow_none=True)


class ViewProblemSchema(Schema):
    table = fields.Str(allow_none=True)
    row = fields.Dict(keys=fields.Str(), allow_none=True, metadata={"description": "the key columns of the row"})
    reason = fields.Str()


class ViewsCheckSchema(Schema):
    position = fields.Int(allow_none=True, metadata={"description": "the log position both were compared at"})
    generation = fields.Int(allow_none=True)
    tables = fields.List(fields.Str())
    first_problem = fields.Nested(ViewProblemSchema, allow_none=True)


class VerificationSchema(Schema):
    valid = fields.Bool()
    events_checked = fields.Int()
    streams = fields.Int()
    first_broken = fields.Nested(BrokenSchema, allow_none=True)
    checkpoints_checked = fields.Int()
    evidence = fields.Nested(EvidenceCheckSchema)
    views = fields.Nested(ViewsCheckSchema, allow_none=True, metadata={"description": "only with ?views=true"})


class ReceiptCheckSchema(Schema):
    """A write's receipt as it was answered (other fields of the answer are ignored); the signature is checked
    when it carries one, the event's type, time, request and position when it names them."""

    class Meta:
        unknown = EXCLUDE

    stream = fields.UUID(required=True)
    version = Whole(required=True, minimum=1)
    event_hash = fields.Str(required=True, validate=validate.Regexp(SHA256))
    type = text(limits.CODE_MAX)
    recorded_at = fields.AwareDateTime()
    notification_id = Whole(minimum=1)
    request_id = text(limits.NAME_MAX)
    key_id = fields.Str(validate=validate.Regexp("^[0-9a-f]{16}$"))
    signature = fields.Str(validate=[validate.Length(max=128), validate.Regexp("^[A-Za-z0-9+/=]*$")])


class CheckpointSchema(Schema):
    tree_size = fields.Int(metadata={"description": "the number of events of the log the tree covers"})
    root = fields.Str(metadata={"description": "the Merkle root, 64 hex characters"})
    signed_at = fields.Str(metadata={"description": "RFC 3339 UTC"})
    key_id = fields.Str()
    signature = fields.Str(metadata={"description": "base64 Ed25519 signature (docs/decisions/0010-ledger.md)"})
    version = fields.Int(metadata={"description": "the version of the checkpoint's event in the ledger stream"})


class CheckpointsSchema(Schema):
    checkpoints = fields.List(fields.Nested(CheckpointSchema))


class InclusionQuerySchema(Schema):
    position = Whole(required=True, minimum=1)
    size = Whole(required=True, minimum=1)


class InclusionProofSchema(Schema):
    position = fields.Int()
    leaf_index = fields.Int()
    leaf_hash = fields.Str()
    audit_path = fields.List(fields.Str(), metadata={"description": "RFC 9162 PATH, hex, the leaf's sibling first"})
    checkpoint = fields.Nested(CheckpointSchema)


class ConsistencyQuerySchema(Schema):
    first = Whole(required=True, minimum=1, data_key="from")
    second = Whole(required=True, minimum=1, data_key="to")


class ConsistencyProofSchema(Schema):
    proof = fields.List(fields.Str(), metadata={"description": "RFC 9162 PROOF, hex"})
    first = fields.Nested(CheckpointSchema, data_key="from")
    second = fields.Nested(CheckpointSchema, data_key="to")


class ReceiptVerdictSchema(Schema):
    valid = fields.Bool()
    signed = fields.Bool(metadata={"description": "the receipt carried a signature (checked when it did)"})
    reason = fields.Str()
    included = fields.Bool(allow_none=True, metadata={
        "description": "the event's inclusion proof verifies against the latest checkpoint; null while no "
                       "checkpoint covers it"})
    checkpoint = fields.Nested(CheckpointSchema, allow_none=True)


class PublicKeySchema(Schema):
    key_id = fields.Str(metadata={"example": "3f2a9c1e0b7d4a65"})
    algorithm = fields.Str(metadata={"example": "Ed25519"})
    public_key = fields.Str(metadata={"description": "the raw 32-byte public key, base64"})
    valid_from = fields.Str(allow_none=True, metadata={"description": "RFC 3339 UTC"})
    valid_until = fields.Str(allow_none=True, metadata={"description": "null for the current key"})


class KeysSchema(Schema):
    current = fields.Str(allow_none=True, metadata={"description": "the key id that signs receipts now"})
    keys = fields.List(fields.Nested(PublicKeySchema))


FORMATS = ("json", "csv", "xlsx")


class ReadQuerySchema(Schema):
    after = Whole(metadata={"description": "notification id of your own write: wait (bounded) until the "
                               "views include it"})


class ResultsQuerySchema(ReadQuerySchema):
    format = fields.Str(load_default="json", validate=validate.OneOf(FORMATS))


class AuditQuerySchema(ResultsQuerySchema):
    round = text(limits.CODE_MAX)
    unit = text(limits.CODE_MAX)
    leaf = text(limits.CODE_MAX)
    actor = text(limits.NAME_MAX)
    type = text(limits.CODE_MAX)
    request_id = text(limits.NAME_MAX, metadata={"description": "the events recorded under one X-Request-ID"})
    since = fields.AwareDateTime()
    until = fields.AwareDateTime()
    cursor = Whole(load_default=0)
    limit = Whole(load_default=100, minimum=1, maximum=1000)


def row_schema(row: type[tuple[Any, ...]], name: str) -> type[Schema]:
    """The answer schema of a view's rows, from the row type itself (projections/rows.py): a column is
    declared once, there."""
    hints = get_type_hints(row, include_extras=True)
    declared: dict[str, fields.Field] = {}
    for column in row._fields:  # type: ignore[attr-defined]
        hint = hints[column]
        if hint == rows.Points:
            declared[column] = Points(allow_none=True)
        elif hint is int:
            declared[column] = fields.Int()
        else:
            declared[column] = fields.Str(allow_none=hint is not str)
    return Schema.from_dict(declared, name=name)


AuditItemSchema = row_schema(rows.AuditRow, "AuditItem")


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditItemSchema))
    next_cursor = fields.Int(allow_none=True)


class DisputesQuerySchema(ReadQuerySchema):
    unit = text(limits.CODE_MAX)
    state = fields.Str(validate=validate.OneOf(["open", "accepted", "rejected"]))


DisputeSchema = row_schema(rows.DisputeRow, "Dispute")


class ViewStatusSchema(Schema):
    name = fields.Str()
    generation = fields.Int()
    position = fields.Int()
    head = fields.Int()
    lag = fields.Int()


class CountdownSchema(Schema):
    """One window of a round, for a unit when asked for one (its own extension counted)."""

    opens_at = fields.AwareDateTime(metadata={"description": "UTC"})
    closes_at = fields.AwareDateTime(metadata={"description": "UTC; the effective close"})
    opens_at_ict = fields.AwareDateTime(metadata={"description": "the same instant in ICT (UTC+07:00)"})
    closes_at_ict = fields.AwareDateTime(metadata={"description": "the same instant in ICT (UTC+07:00)"})
    seconds_left = fields.Int()
    closed = fields.Bool()


class RoundAnswerSchema(RoundSchema):
    countdown = fields.Dict(keys=fields.Str(), values=fields.Nested(CountdownSchema),
                            metadata={"description": "per window, round-wide (without any unit's own extension)"})


class DossierSchema(Schema):
    round = fields.Str()
    unit = fields.Str()
    phase = fields.Str()
    submitted = fields.Bool()
    preliminary_released = fields.Bool()
    countdown = fields.Dict(keys=fields.Str(), values=fields.Nested(CountdownSchema))
    closed = fields.Dict(keys=fields.Str(), values=fields.AwareDateTime(),
                         metadata={"description": "the closes the scheduler recorded, per window"})
    reminders = fields.List(fields.Str())
    missing = fields.Dict(allow_none=True, metadata={
        "description": "the work still missing in the window of the round's phase, leaf codes per kind"})


class ReminderSchema(Schema):
    round = fields.Str()
    unit = fields.Str()
    reminder_id = fields.Str()
    window = fields.Str()
    closes_at = fields.AwareDateTime()
    before = fields.Int(metadata={"description": "seconds before the close"})
    missing = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str()))
    issued_at = fields.AwareDateTime()
    delivered_at = fields.AwareDateTime(allow_none=True, metadata={"description": "to the webhook; null: not yet"})
    attempts = fields.Int()
    position = fields.Int()


class RemindersQuerySchema(Schema):
    round = fields.Str()
    unit = fields.Str()
    pending = fields.Bool(load_default=False)


class RemindersSchema(Schema):
    reminders = fields.List(fields.Nested(ReminderSchema))


class TargetsSchema(Schema):
    """Socio-economic target points of one unit, computed from official statistics (issue 12)."""

    source = text(limits.NAME_MAX, required=True, minimum=1, metadata={
        "description": "the statistics the points come from, e.g. 'Niên giám thống kê 2024, Cục Thống kê tỉnh'"})
    points = fields.Dict(keys=fields.Str(validate=validate.Length(min=1, max=20)), values=Points(), required=True,
                         validate=validate.Length(min=1, max=100), metadata={"description": "leaf → points"})


# The end of a round, after finalization: the Appraisal Council's meeting, the Ministry's approval, the announcement.
MEETING_MEMBERS_MAX = 100  # members present at the Appraisal Council's meeting (the council has a few dozen)


class MeetingSchema(Schema):
    held_on = fields.Date(required=True, metadata={"example": "2025-03-26"})
    members = fields.List(text(limits.NAME_MAX, minimum=1), required=True,
                          validate=validate.Length(min=1, max=MEETING_MEMBERS_MAX),
                          metadata={"description": "the names of the members present",
                                    "example": ["Nguyễn Văn Hùng", "Trần Thị Lan"]})
    minutes = text(limits.NAME_MAX, required=True, minimum=1, metadata={
        "description": "the reference of the meeting's minutes", "example": "Biên bản số 12/BB-HĐTĐ"})


class ApprovalSchema(Schema):
    number = text(limits.NAME_MAX, required=True, minimum=1, metadata={
        "description": "the number of the Ministry's decision approving the results", "example": "268/QĐ-BNV"})
    decided_on = fields.Date(required=True, metadata={"example": "2025-03-28"})


class AnnouncementSchema(Schema):
    announced_on = fields.Date(required=True, metadata={"example": "2025-04-06"})


class RescoreQuerySchema(Schema):
    framework = text(limits.NAME_MAX, required=True, minimum=1, metadata={
        "description": "the id of a shipped criteria tree (GET /api/v1/frameworks)"})


class RescoredUnitSchema(Schema):
    unit = fields.Str()
    name = fields.Str()
    index_before = Points(allow_none=True)
    index_after = Points()
    rank_before = fields.Int(allow_none=True)
    rank_after = fields.Int(allow_none=True)
    rank_change = fields.Int(allow_none=True, metadata={"description": "positive: the unit would rise"})
    group_before = fields.Str(allow_none=True)
    group_after = fields.Str(allow_none=True)


class RescoreSchema(Schema):
    round = fields.Str()
    framework_before = fields.Str()
    framework_after = fields.Str()
    rule = fields.Str(metadata={"description": "how each leaf's points were carried over to the other tree"})
    changed_ranks = fields.Int()
    units = fields.List(fields.Nested(RescoredUnitSchema))
