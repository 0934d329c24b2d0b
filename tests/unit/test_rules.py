"""Every rule of the appraisal process refuses with its named error (domain only, no storage)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from council.infra import criteria_trees as frameworks
from domain.dossier import Dossier
from domain.errors import (
    ExplanationAlreadyOpenError,
    FieldNotAssignedError,
    ForbiddenRoleError,
    IncompleteSubmissionError,
    InvalidPointsError,
    OwnMinistryError,
    PointsOffGridError,
    PointsOutOfRangeError,
    ReasonRequiredError,
    SurveyLeafError,
    VersionConflictError,
    WindowClosedError,
    WrongPhaseError,
    WrongUnitError,
)
from domain.round import Round
from domain.score import Score
from domain.values import Actor, Context, Document, Role, Unit, Window, to_points
from tests.builders import ICT, MOHA_MEMBER, MOJ_MEMBER, SECRETARIAT, document, officer

JAN = datetime(2025, 1, 10, tzinfo=ICT)
FEB = datetime(2025, 2, 10, tzinfo=ICT)
MAR = datetime(2025, 3, 12, tzinfo=ICT)
CLOSED = datetime(2025, 3, 21, tzinfo=ICT)  # after the explanation window's close


def ctx(actor: Actor, now: datetime = JAN) -> Context:
    return Context(actor=actor, request_id="req-1", now=now)


def new_round(framework_id: str = "province-876-2022", units=("01", "79")) -> Round:
    windows = {"self_assessment": Window(datetime(2025, 1, 1, tzinfo=ICT), datetime(2025, 2, 1, tzinfo=ICT)),
               "explanation": Window(datetime(2025, 3, 10, tzinfo=ICT), datetime(2025, 3, 20, tzinfo=ICT))}
    return Round.open(year=2024, framework=frameworks.load(framework_id), units=[Unit(c, c) for c in units],
                      windows=windows, thresholds={"A": Decimal(90)}, ctx=ctx(SECRETARIAT))


def score_on(rnd: Round, leaf: str, unit: str = "01") -> Score:
    return Score.open(rnd, unit, leaf, ctx(officer(unit)))


def appraisal_round(leaf: str = "1.1.1") -> tuple[Round, Score]:
    rnd = new_round()
    score = score_on(rnd, leaf)
    score.self_score("0.50", rnd, ctx(officer("01")))
    rnd.advance("appraisal", ctx(SECRETARIAT, FEB))
    return rnd, score


def survey_leaf(rnd: Round) -> str:
    return rnd.framework.leaves("survey")[0].code


def test_points_above_the_leaf_maximum_are_refused():
    rnd = new_round()
    leaf = rnd.framework.leaf("1.1.1")
    with pytest.raises(PointsOutOfRangeError):
        score_on(rnd, "1.1.1").self_score(leaf.max_points + Decimal("0.01"), rnd, ctx(officer("01")))


def test_negative_points_are_refused():
    rnd = new_round()
    with pytest.raises(PointsOutOfRangeError):
        score_on(rnd, "1.1.1").self_score("-0.01", rnd, ctx(officer("01")))


def test_points_with_three_decimals_are_refused():
    rnd = new_round()
    with pytest.raises(PointsOffGridError):
        score_on(rnd, "1.1.1").self_score("0.125", rnd, ctx(officer("01")))


def test_points_off_a_quarter_point_grid_are_refused_where_the_tree_says_so():
    rnd = new_round()
    leaf = next(leaf for leaf in rnd.framework.leaves("appraisal") if leaf.step == Decimal("0.25"))
    with pytest.raises(PointsOffGridError):
        score_on(rnd, leaf.code).self_score("0.10", rnd, ctx(officer("01")))


def test_points_given_as_float_are_refused():
    with pytest.raises(InvalidPointsError, match="decimal string"):
        to_points(0.5)


def test_a_survey_leaf_is_never_self_scored():
    rnd = new_round()
    with pytest.raises(SurveyLeafError):
        score_on(rnd, survey_leaf(rnd)).self_score("0.00", rnd, ctx(officer("01")))


def test_self_scoring_before_the_window_opens_is_refused():
    rnd = new_round()
    with pytest.raises(WindowClosedError):
        score_on(rnd, "1.1.1").self_score("0.50", rnd, ctx(officer("01"), datetime(2024, 12, 31, tzinfo=ICT)))


def test_self_scoring_after_the_window_closes_is_refused_but_an_extension_reopens_it_for_that_unit_only():
    rnd = new_round()
    late = datetime(2025, 2, 1, 0, 0, 1, tzinfo=ICT)
    with pytest.raises(WindowClosedError):
        score_on(rnd, "1.1.1").self_score("0.50", rnd, ctx(officer("01"), late))
    rnd.extend("self_assessment", datetime(2025, 2, 5, tzinfo=ICT), ctx(SECRETARIAT), reason="lũ lụt", unit="01")
    score_on(rnd, "1.1.1").self_score("0.50", rnd, ctx(officer("01"), late))
    with pytest.raises(WindowClosedError):
        score_on(rnd, "1.1.1", unit="79").self_score("0.50", rnd, ctx(officer("79"), late))


def test_an_extension_without_a_reason_is_refused():
    rnd = new_round()
    with pytest.raises(ReasonRequiredError):
        rnd.extend("self_assessment", datetime(2025, 2, 5, tzinfo=ICT), ctx(SECRETARIAT), reason=" ")


def test_a_unit_officer_may_not_write_another_units_dossier():
    rnd = new_round()
    with pytest.raises(WrongUnitError):
        score_on(rnd, "1.1.1", unit="79").self_score("0.50", rnd, ctx(officer("01")))


def test_a_unit_officer_may_not_submit_another_units_dossier():
    rnd = new_round()
    dossier = Dossier.open(rnd, "79", ctx(officer("79")))
    with pytest.raises(WrongUnitError):
        dossier.submit("Chủ tịch UBND", Document.from_dict(document("r")), [], rnd, ctx(officer("01")))


def test_submission_with_a_leaf_lacking_evidence_and_explanation_is_refused_naming_it():
    rnd = new_round()
    score = score_on(rnd, "1.1.1")
    score.self_score("0.50", rnd, ctx(officer("01")))
    assert not score.is_complete
    dossier = Dossier.open(rnd, "01", ctx(officer("01")))
    with pytest.raises(IncompleteSubmissionError, match=r"1\.1\.1") as refused:
        dossier.submit("Chủ tịch UBND", Document.from_dict(document("r")), ["1.1.1"], rnd, ctx(officer("01")))
    assert refused.value.details["leaves"] == ["1.1.1"]
    score.explain_missing_evidence("Văn bản đang trình ký", rnd, ctx(officer("01")))
    assert score.is_complete


def test_an_adjustment_without_a_reason_is_refused():
    rnd, score = appraisal_round()
    with pytest.raises(ReasonRequiredError):
        score.adjust("0.25", "  ", score.version, rnd, ctx(MOHA_MEMBER, FEB))


def test_an_adjustment_with_a_stale_expected_version_is_refused():
    rnd, score = appraisal_round()
    with pytest.raises(VersionConflictError) as refused:
        score.adjust("0.25", "thiếu minh chứng", score.version - 1, rnd, ctx(MOHA_MEMBER, FEB))
    assert refused.value.details["current_version"] == score.version


def test_a_council_member_may_not_adjust_a_field_not_assigned_to_them():
    rnd, score = appraisal_round("1.1.1")
    with pytest.raises(FieldNotAssignedError):
        score.adjust("0.25", "thiếu minh chứng", score.version, rnd, ctx(MOJ_MEMBER, FEB))


def test_a_council_member_may_not_appraise_their_own_ministry():
    rnd = new_round("ministry-876-2022", units=("MOJ", "MOF"))
    leaf = next(leaf.code for leaf in rnd.framework.leaves("appraisal") if leaf.field == "2")
    score = Score.open(rnd, "MOJ", leaf, ctx(officer("MOJ")))
    score.self_score("0.00", rnd, ctx(officer("MOJ")))
    rnd.advance("appraisal", ctx(SECRETARIAT, FEB))
    with pytest.raises(OwnMinistryError):
        score.adjust("0.00", "tự đánh giá chưa đúng", score.version, rnd, ctx(MOJ_MEMBER, FEB))
    other = Score.open(rnd, "MOF", leaf, ctx(SECRETARIAT, FEB))
    other.adjust("0.00", "không có minh chứng", other.version, rnd, ctx(MOJ_MEMBER, FEB))
    assert other.points == Decimal("0.00")


def test_a_unit_officer_may_not_adjust_scores():
    rnd, score = appraisal_round()
    with pytest.raises(ForbiddenRoleError):
        score.adjust("0.50", "tự sửa", score.version, rnd, ctx(officer("01"), FEB))


def explanation_round() -> tuple[Round, Score]:
    rnd, score = appraisal_round()
    score.adjust("0.25", "thiếu minh chứng", score.version, rnd, ctx(MOHA_MEMBER, FEB))
    rnd.advance("explanation", ctx(SECRETARIAT, MAR))
    return rnd, score


def test_an_explanation_outside_the_explanation_window_is_refused():
    rnd, score = explanation_round()
    with pytest.raises(WindowClosedError):
        score.file_explanation("đã đủ minh chứng", None, [], rnd, ctx(officer("01"), datetime(2025, 3, 20, tzinfo=ICT)))


def test_an_explanation_before_the_explanation_phase_is_refused():
    rnd, score = appraisal_round()
    with pytest.raises(WrongPhaseError):
        score.file_explanation("đã đủ minh chứng", None, [], rnd, ctx(officer("01"), MAR))


def test_a_second_open_explanation_on_the_same_leaf_is_refused():
    rnd, score = explanation_round()
    score.file_explanation("đã đủ minh chứng", "0.50", [], rnd, ctx(officer("01"), MAR))
    with pytest.raises(ExplanationAlreadyOpenError):
        score.file_explanation("bổ sung thêm", "0.50", [], rnd, ctx(officer("01"), MAR))


def test_accepting_an_explanation_sets_the_new_points():
    rnd, score = explanation_round()
    explanation = score.file_explanation("đã đủ minh chứng", "0.50", [], rnd, ctx(officer("01"), MAR))
    rnd.advance("council_review", ctx(SECRETARIAT, CLOSED))
    score.decide_explanation(explanation, True, "0.50", "minh chứng hợp lệ", score.version, rnd,
                             ctx(MOHA_MEMBER, CLOSED))
    assert (score.points, score.explanations) == (Decimal("0.50"), {"1": "accepted"})


def test_silence_counts_as_acceptance_once_and_not_over_an_explanation():
    rnd, score = explanation_round()
    system = Actor(id="system", role=Role.SYSTEM)
    assert score.accept_preliminary(rnd, ctx(system, CLOSED)) is True
    assert score.accept_preliminary(rnd, ctx(system, CLOSED)) is False
    rnd2, disputed = explanation_round()
    disputed.file_explanation("đã đủ minh chứng", None, [], rnd2, ctx(officer("01"), MAR))
    assert disputed.accept_preliminary(rnd2, ctx(system, CLOSED)) is False
