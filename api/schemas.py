"""Marshmallow schemas: they validate requests and, through flask-smorest, write the OpenAPI document."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, get_type_hints

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate

from domain.errors import DomainError
from domain.round import PHASES
from domain.values import to_points
from projections import rows


class Points(fields.Field):
    """Points as an exact decimal string with at most two places ("1.25"); JSON numbers are refused,
    because a float cannot say 0.1 exactly."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if not isinstance(value, str):
            raise ValidationError('points are a decimal string such as "1.25"')
        try:
            return to_points(value)
        except DomainError as error:
            raise ValidationError(str(error)) from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(Decimal(str(value)).quantize(Decimal("0.01")))


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


class UnitSchema(Schema):
    code = fields.Str(required=True, validate=validate.Length(min=1, max=16))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    region = fields.Str(load_default="")
    ranked = fields.Bool(load_default=True)


class WindowSchema(Schema):
    opens_at = fields.AwareDateTime(required=True)
    closes_at = fields.AwareDateTime(required=True)


class WindowsSchema(Schema):
    self_assessment = fields.Nested(WindowSchema, required=True)
    explanation = fields.Nested(WindowSchema, required=True)


class RoundOpenSchema(Schema):
    year = fields.Int(required=True, validate=validate.Range(min=2012, max=2100))
    framework = fields.Str(required=True, metadata={"example": "province-876-2022"})
    units = fields.List(fields.Nested(UnitSchema), required=True, validate=validate.Length(min=1, max=200))
    windows = fields.Nested(WindowsSchema, required=True)
    thresholds = fields.Dict(keys=fields.Str(), values=Points(), metadata={"example": {"A": "90.00"}})


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


class PhaseSchema(Schema):
    phase = fields.Str(required=True, validate=validate.OneOf(PHASES))
    reason = fields.Str(load_default="")


class ExtensionSchema(Schema):
    window = fields.Str(required=True, validate=validate.OneOf(["self_assessment", "explanation"]))
    closes_at = fields.AwareDateTime(required=True)
    reason = fields.Str(required=True, validate=validate.Length(min=1))
    unit = fields.Str(load_default=None)


class SelfScoreSchema(Schema):
    points = Points(required=True)
    note = fields.Str(load_default="")


class AppraisalSchema(Schema):
    points = Points(required=True)
    comment = fields.Str(load_default="")


class AdjustmentSchema(Schema):
    points = Points(required=True)
    reason = fields.Str(required=True, validate=validate.Length(min=1))


class ExplanationSchema(Schema):
    argument = fields.Str(required=True, validate=validate.Length(min=1))
    requested_points = Points(load_default=None)
    evidence = fields.List(fields.Str(validate=validate.Regexp("^[0-9a-f]{64}$")), load_default=list)


class ExplanationFiledSchema(ReceiptSchema):
    explanation_id = fields.Str(required=True)


class DecisionSchema(Schema):
    accept = fields.Bool(required=True)
    points = Points(load_default=None)
    reason = fields.Str(required=True, validate=validate.Length(min=1))


class DocumentSchema(Schema):
    sha256 = fields.Str(required=True, validate=validate.Regexp("^[0-9a-f]{64}$"))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=255))
    media_type = fields.Str(required=True)
    size = fields.Int(required=True, validate=validate.Range(min=0))
    number = fields.Str(load_default="")
    issued_on = fields.Str(load_default="")
    issuer = fields.Str(load_default="")


class SubmissionSchema(Schema):
    approved_by = fields.Str(required=True, validate=validate.Length(min=1))
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
    version = fields.Int(validate=validate.Range(min=0))
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


class HistorySchema(Schema):
    state = fields.Nested(ScoreSchema, allow_none=True)
    events = fields.List(fields.Nested(HistoryEventSchema))
    verified = fields.Bool()


class HealthSchema(Schema):
    status = fields.Str()
    database = fields.Str(metadata={"description": "ok: the database answered a query of the events table"})
    backend = fields.Str(metadata={"example": "postgresql"})
    events = fields.Int(metadata={"description": "events in the log (its last notification id)"})
    projection_lag = fields.Int(metadata={"description": "events the views have yet to apply"})


class EvidenceFormSchema(Schema):
    """Document metadata sent beside the uploaded file (multipart form fields)."""

    number = fields.Str(load_default="", validate=validate.Length(max=100))
    issued_on = fields.Date(load_default=None)
    issuer = fields.Str(load_default="", validate=validate.Length(max=200))


class EvidenceFileSchema(Schema):
    file = Upload(required=True)


class StoredFileSchema(Schema):
    sha256 = fields.Str(required=True)
    size = fields.Int(required=True)
    media_type = fields.Str(required=True)


class EvidenceByHashSchema(Schema):
    sha256 = fields.Str(required=True, validate=validate.Regexp("^[0-9a-f]{64}$"))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=255))
    number = fields.Str(load_default="", validate=validate.Length(max=100))
    issued_on = fields.Date(load_default=None)
    issuer = fields.Str(load_default="", validate=validate.Length(max=200))


class WithdrawalSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1))


class FormDocumentSchema(Schema):
    """A document in a form, by the hash of a file the unit already uploaded."""

    sha256 = fields.Str(required=True, validate=validate.Regexp("^[0-9a-f]{64}$"))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=255))
    number = fields.Str(load_default="")
    issued_on = fields.Str(load_default="")
    issuer = fields.Str(load_default="")


class FormEntrySchema(Schema):
    leaf = fields.Str(required=True)
    points = Points(required=True)
    note = fields.Str(load_default="")
    evidence = fields.List(fields.Nested(FormDocumentSchema), load_default=list)
    missing_evidence = fields.Str(load_default="")


class SelfAssessmentFormSchema(Schema):
    entries = fields.List(fields.Nested(FormEntrySchema), required=True, validate=validate.Length(min=1, max=500))


class SurveyRowSchema(Schema):
    unit = fields.Str(required=True)
    leaf = fields.Str(required=True)
    points = Points(required=True)


class SurveyImportSchema(Schema):
    source = fields.Str(required=True, validate=validate.Length(min=1))
    results = fields.List(fields.Nested(SurveyRowSchema), required=True, validate=validate.Length(min=1))


class UnitResultSchema(Schema):
    unit = fields.Nested(UnitSchema)
    fields_ = fields.Dict(data_key="fields", attribute="fields", keys=fields.Str(), values=Points())
    components = fields.Dict(keys=fields.Str(), values=Percent())
    index = Points()
    rank = fields.Int(allow_none=True)
    group = fields.Str(allow_none=True)


class ResultsSchema(Schema):
    round = fields.Str()
    phase = fields.Str()
    units = fields.List(fields.Nested(UnitResultSchema))
    averages = fields.Dict(keys=fields.Str(), values=Percent())


class FrameworkSummarySchema(Schema):
    id = fields.Str()
    level = fields.Str()
    title = fields.Str()
    hash = fields.Str()


class FrameworkSchema(FrameworkSummarySchema):
    data = fields.Dict()


class VerifyQuerySchema(Schema):
    round = fields.Str()


class BrokenSchema(Schema):
    position = fields.Int()
    stream = fields.Str()
    version = fields.Int()
    type = fields.Str()
    reason = fields.Str()


class VerificationSchema(Schema):
    valid = fields.Bool()
    events_checked = fields.Int()
    streams = fields.Int()
    first_broken = fields.Nested(BrokenSchema, allow_none=True)


class ReceiptCheckSchema(Schema):
    stream = fields.UUID(required=True)
    version = fields.Int(required=True, validate=validate.Range(min=1))
    event_hash = fields.Str(required=True, validate=validate.Regexp("^[0-9a-f]{64}$"))


class ReceiptVerdictSchema(Schema):
    valid = fields.Bool()
    reason = fields.Str()


FORMATS = ("json", "csv", "xlsx")


class ReadQuerySchema(Schema):
    after = fields.Int(validate=validate.Range(min=0),
                       metadata={"description": "notification id of your own write: wait (bounded) until the "
                                                "views include it"})


class ResultsQuerySchema(ReadQuerySchema):
    format = fields.Str(load_default="json", validate=validate.OneOf(FORMATS))


class AuditQuerySchema(ResultsQuerySchema):
    round = fields.Str()
    unit = fields.Str()
    leaf = fields.Str()
    actor = fields.Str()
    type = fields.Str()
    request_id = fields.Str(metadata={"description": "the events recorded under one X-Request-ID"})
    since = fields.AwareDateTime()
    until = fields.AwareDateTime()
    cursor = fields.Int(load_default=0, validate=validate.Range(min=0))
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))


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
    unit = fields.Str()
    state = fields.Str(validate=validate.OneOf(["open", "accepted", "rejected"]))


DisputeSchema = row_schema(rows.DisputeRow, "Dispute")


class ViewStatusSchema(Schema):
    name = fields.Str()
    generation = fields.Int()
    position = fields.Int()
    head = fields.Int()
    lag = fields.Int()
