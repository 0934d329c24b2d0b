"""Windows bind the Secretariat too: phase changes, silence as acceptance, council decisions and extensions
against the units' windows (domain only, no storage)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain.dossier import Dossier
from domain.errors import (
    ReasonRequiredError,
    RoundFinishedError,
    WindowOpenError,
    WindowOverError,
    WindowsOverlapError,
    WrongPhaseError,
)
from domain.round import Round
from domain.score import SILENCE, Score
from domain.values import Actor, Context, Role
from tests.builders import ICT, MOHA_MEMBER, SECRETARIAT, officer
from tests.unit.test_rules import new_round

SYSTEM = Actor(id="system:scheduler", role=Role.SYSTEM)
IN_SELF_ASSESSMENT = datetime(2025, 1, 20, tzinfo=ICT)
SELF_ASSESSMENT_CLOSES = datetime(2025, 2, 1, tzinfo=ICT)
APPRAISAL = datetime(2025, 2, 10, tzinfo=ICT)
BEFORE_EXPLANATION = datetime(2025, 3, 5, tzinfo=ICT)
EXPLANATION_OPENS = datetime(2025, 3, 10, tzinfo=ICT)
IN_EXPLANATION = datetime(2025, 3, 12, tzinfo=ICT)
EXPLANATION_CLOSES = datetime(2025, 3, 20, tzinfo=ICT)
AFTER = datetime(2025, 3, 21, tzinfo=ICT)


def ctx(actor: Actor, now: datetime) -> Context:
    return Context(actor=actor, request_id="req-windows", now=now)


def in_phase(phase: str, extend: tuple[str, datetime, str | None] | None = None) -> Round:
    """A round moved on, on time, to `phase`; `extend` first extends a window (window, close, unit)."""
    rnd = new_round()
    if extend is not None:
        window, closes_at, unit = extend
        rnd.extend(window, closes_at, ctx(SECRETARIAT, IN_SELF_ASSESSMENT), reason="bão lũ", unit=unit)
    times = {"appraisal": APPRAISAL, "explanation": IN_EXPLANATION, "council_review": datetime(2025, 4, 1, tzinfo=ICT),
             "finalized": datetime(2025, 4, 2, tzinfo=ICT), "published": datetime(2025, 4, 15, tzinfo=ICT)}
    for step, at in times.items():
        if rnd.phase == phase:
            break
        if step == "published":  # by the Council's meeting, the Ministry's approval and the announcement
            rnd.council_meeting(date(2025, 4, 3), ["Nguyễn Văn Hùng"], "Biên bản số 12/BB-HĐTĐ", ctx(SECRETARIAT, at))
            rnd.approve("268/QĐ-BNV", date(2025, 4, 10), ctx(SECRETARIAT, at))
            rnd.announce(date(2025, 4, 15), ctx(SECRETARIAT, at))
        else:
            rnd.advance(step, ctx(SECRETARIAT, at))
    assert rnd.phase == phase
    return rnd


def disputed_score(rnd: Round, unit: str = "01", leaf: str = "1.1.1") -> Score:
    return Score.open(rnd, unit, leaf, ctx(officer(unit), IN_SELF_ASSESSMENT))


# Phase changes


def test_moving_to_appraisal_inside_the_self_assessment_window_is_refused_with_409_window_open():
    rnd = new_round()
    with pytest.raises(WindowOpenError) as refused:
        rnd.advance("appraisal", ctx(SECRETARIAT, IN_SELF_ASSESSMENT))
    assert (refused.value.type, refused.value.status) == ("window-open", 409)
    assert refused.value.details == {"window": "self_assessment", "closes_at": SELF_ASSESSMENT_CLOSES.isoformat(),
                                     "units": ["01", "79"]}
    assert (rnd.phase, rnd.version) == ("self_assessment", 1)


def test_a_blank_reason_is_no_reason_and_the_scheduler_is_bound_too():
    rnd = new_round()
    with pytest.raises(WindowOpenError):
        rnd.advance("appraisal", ctx(SECRETARIAT, IN_SELF_ASSESSMENT), reason="  ")
    with pytest.raises(WindowOpenError):
        rnd.require_advance("appraisal", ctx(SYSTEM, IN_SELF_ASSESSMENT))


def test_moving_before_the_window_even_opens_cuts_it_short_as_well():
    with pytest.raises(WindowOpenError):
        new_round().advance("appraisal", ctx(SECRETARIAT, datetime(2024, 12, 20, tzinfo=ICT)))


def test_an_explicit_reason_cuts_the_window_short_and_is_recorded_as_that_reason():
    rnd = new_round()
    rnd.advance("appraisal", ctx(SECRETARIAT, IN_SELF_ASSESSMENT), reason="Chỉ đạo của Bộ trưởng: thẩm định sớm")
    (event,) = [e for e in rnd.collect_events() if isinstance(e, Round.PhaseAdvanced)]
    assert (rnd.phase, event.reason) == ("appraisal", "Chỉ đạo của Bộ trưởng: thẩm định sớm")


def test_the_window_closes_at_its_close_which_is_exclusive():
    rnd = new_round()
    rnd.advance("appraisal", ctx(SECRETARIAT, SELF_ASSESSMENT_CLOSES))
    assert rnd.phase == "appraisal"


def test_a_units_own_extension_keeps_its_window_open_against_a_phase_change():
    rnd = new_round()
    rnd.extend("self_assessment", datetime(2025, 2, 5, tzinfo=ICT), ctx(SECRETARIAT, IN_SELF_ASSESSMENT),
               reason="bão số 3", unit="79")
    with pytest.raises(WindowOpenError) as refused:
        rnd.advance("appraisal", ctx(SECRETARIAT, datetime(2025, 2, 3, tzinfo=ICT)))
    assert refused.value.details["units"] == ["79"]
    assert refused.value.details["closes_at"] == datetime(2025, 2, 5, tzinfo=ICT).isoformat()
    rnd.advance("appraisal", ctx(SECRETARIAT, datetime(2025, 2, 5, tzinfo=ICT)))


def test_moving_to_council_review_inside_the_explanation_window_is_refused():
    rnd = in_phase("explanation")
    for now in (IN_EXPLANATION, datetime(2025, 3, 19, 23, 59, tzinfo=ICT)):
        with pytest.raises(WindowOpenError) as refused:
            rnd.advance("council_review", ctx(SECRETARIAT, now))
        assert refused.value.details["window"] == "explanation"
    rnd.advance("council_review", ctx(SECRETARIAT, EXPLANATION_CLOSES))


def test_a_round_wide_explanation_extension_counts_for_every_unit():
    rnd = in_phase("explanation", extend=("explanation", datetime(2025, 3, 25, tzinfo=ICT), None))
    with pytest.raises(WindowOpenError) as refused:
        rnd.advance("council_review", ctx(SECRETARIAT, AFTER))
    assert refused.value.details["units"] == ["01", "79"]


def test_entering_a_window_phase_early_or_leaving_a_phase_without_a_window_is_free():
    rnd = in_phase("appraisal")
    rnd.advance("explanation", ctx(SECRETARIAT, BEFORE_EXPLANATION))  # units wait for the window to open
    rnd.advance("council_review", ctx(SECRETARIAT, AFTER))
    rnd.advance("finalized", ctx(SECRETARIAT, AFTER))
    with pytest.raises(WrongPhaseError) as refused:  # published only by the announcement
        rnd.advance("published", ctx(SECRETARIAT, AFTER))
    assert (refused.value.type, rnd.phase) == ("published-by-announcement", "finalized")


# Silence as acceptance


def explained_phase_score(extend: tuple[str, datetime, str | None] | None = None,
                          unit: str = "01") -> tuple[Round, Score]:
    rnd = in_phase("explanation", extend)
    return rnd, disputed_score(rnd, unit)


def test_silence_is_not_acceptance_before_the_units_window_closes():
    rnd, score = explained_phase_score()
    with pytest.raises(WindowOpenError):
        score.accept_preliminary(rnd, ctx(SYSTEM, IN_EXPLANATION))
    assert score.preliminary_accepted is False
    assert score.accept_preliminary(rnd, ctx(SYSTEM, EXPLANATION_CLOSES)) is True
    assert score.collect_events()[-1].reason == SILENCE


def test_an_early_close_records_the_secretariats_reason_never_a_silence_that_did_not_happen():
    rnd, score = explained_phase_score()
    assert score.accept_preliminary(rnd, ctx(SECRETARIAT, IN_EXPLANATION), "Hội đồng họp sớm theo chỉ đạo") is True
    reason = score.collect_events()[-1].reason
    assert "no explanation filed" not in reason
    assert reason.startswith("explanation window closed early by the Secretariat")
    assert reason.endswith(": Hội đồng họp sớm theo chỉ đạo")
    assert EXPLANATION_CLOSES.isoformat() in reason


def test_after_the_close_the_reason_is_silence_even_when_the_secretariat_gave_one():
    rnd, score = explained_phase_score()
    score.accept_preliminary(rnd, ctx(SECRETARIAT, AFTER), "kế hoạch thẩm định")
    assert score.collect_events()[-1].reason == SILENCE


def test_silence_waits_for_the_units_own_extension():
    extended = datetime(2025, 3, 25, tzinfo=ICT)
    rnd, late = explained_phase_score(extend=("explanation", extended, "79"), unit="79")
    on_time = disputed_score(rnd, "01")
    assert on_time.accept_preliminary(rnd, ctx(SYSTEM, AFTER)) is True
    with pytest.raises(WindowOpenError) as refused:
        late.accept_preliminary(rnd, ctx(SYSTEM, AFTER))
    assert refused.value.details["units"] == ["79"]
    assert late.accept_preliminary(rnd, ctx(SYSTEM, extended)) is True
    assert late.collect_events()[-1].reason == SILENCE


def test_silence_is_never_taken_outside_the_explanation_and_council_review_phases():
    rnd = in_phase("appraisal")
    with pytest.raises(WrongPhaseError):
        disputed_score(rnd).accept_preliminary(rnd, ctx(SYSTEM, AFTER))


# The council's decisions


def filed(rnd: Round) -> Score:
    score = disputed_score(rnd)
    score.file_explanation("đã ban hành đúng hạn", "0.50", [], rnd, ctx(officer("01"), IN_EXPLANATION))
    return score


def test_the_council_decides_in_council_review_only():
    rnd = in_phase("explanation")
    score = filed(rnd)
    with pytest.raises(WrongPhaseError):
        score.decide_explanation("1", False, None, "không có căn cứ", score.version, rnd,
                                 ctx(MOHA_MEMBER, EXPLANATION_CLOSES))
    rnd.advance("council_review", ctx(SECRETARIAT, AFTER))
    score.decide_explanation("1", False, None, "không có căn cứ", score.version, rnd, ctx(MOHA_MEMBER, AFTER))
    assert score.explanations == {"1": "rejected"}


def test_no_decision_after_council_review():
    rnd = in_phase("explanation")
    score = filed(rnd)
    rnd.advance("council_review", ctx(SECRETARIAT, AFTER))
    rnd.advance("finalized", ctx(SECRETARIAT, AFTER))
    with pytest.raises(WrongPhaseError):
        score.decide_explanation("1", True, "0.50", "hợp lệ", score.version, rnd, ctx(MOHA_MEMBER, AFTER))


# Extensions


def test_self_assessment_may_not_be_extended_past_the_explanation_windows_opening():
    rnd = new_round()
    for unit in (None, "01"):
        with pytest.raises(WindowsOverlapError) as refused:
            rnd.extend("self_assessment", datetime(2025, 3, 10, 0, 1, tzinfo=ICT),
                       ctx(SECRETARIAT, IN_SELF_ASSESSMENT), reason="bão lũ", unit=unit)
        assert (refused.value.type, refused.value.status) == ("windows-overlap", 409)
    rnd.extend("self_assessment", EXPLANATION_OPENS, ctx(SECRETARIAT, IN_SELF_ASSESSMENT), reason="bão lũ", unit="01")
    assert rnd.closes_at("self_assessment", "01") == EXPLANATION_OPENS


def test_a_window_whose_phase_is_over_may_not_be_extended():
    rnd = in_phase("appraisal")
    with pytest.raises(WindowOverError) as refused:
        rnd.extend("self_assessment", datetime(2025, 2, 15, tzinfo=ICT), ctx(SECRETARIAT, APPRAISAL),
                   reason="bão lũ", unit="01")
    assert (refused.value.type, refused.value.status) == ("window-over", 409)
    rnd = in_phase("council_review")
    with pytest.raises(WindowOverError):
        rnd.extend("explanation", datetime(2025, 4, 30, tzinfo=ICT), ctx(SECRETARIAT, AFTER), reason="bão lũ")


@pytest.mark.parametrize("phase", ["finalized", "published"])
def test_a_finished_round_reopens_no_window(phase):
    rnd = in_phase(phase)
    for window in ("self_assessment", "explanation"):
        with pytest.raises(RoundFinishedError) as refused:
            rnd.extend(window, datetime(2025, 5, 30, tzinfo=ICT), ctx(SECRETARIAT, AFTER), reason="khiếu nại",
                       unit="01")
        assert (refused.value.type, refused.value.status) == ("round-finished", 409)
    assert rnd.extensions == {}


def test_the_explanation_window_may_be_extended_before_and_during_its_phase():
    rnd = in_phase("appraisal")
    rnd.extend("explanation", datetime(2025, 3, 22, tzinfo=ICT), ctx(SECRETARIAT, APPRAISAL), reason="Tết")
    rnd.advance("explanation", ctx(SECRETARIAT, IN_EXPLANATION))
    rnd.extend("explanation", datetime(2025, 3, 25, tzinfo=ICT), ctx(SECRETARIAT, AFTER), reason="bão lũ", unit="79")
    assert (rnd.closes_at("explanation", "01"), rnd.closes_at("explanation", "79")) == (
        datetime(2025, 3, 22, tzinfo=ICT), datetime(2025, 3, 25, tzinfo=ICT))


def test_an_extension_still_needs_a_reason_first():
    with pytest.raises(ReasonRequiredError):
        in_phase("published").extend("explanation", datetime(2025, 5, 30, tzinfo=ICT), ctx(SECRETARIAT, AFTER),
                                      reason="")


def test_a_units_close_is_recorded_once_per_effective_close_and_again_after_an_extension():
    rnd = new_round()
    dossier = Dossier.open(rnd, "01", ctx(SECRETARIAT, datetime(2025, 1, 5, tzinfo=ICT)))
    before = ctx(SYSTEM, datetime(2025, 1, 31, 23, tzinfo=ICT))
    assert dossier.close_window("self_assessment", rnd, before) is False  # not due yet
    after = ctx(SYSTEM, datetime(2025, 2, 1, 0, 0, 1, tzinfo=ICT))
    assert dossier.close_window("self_assessment", rnd, after) is True
    assert dossier.close_window("self_assessment", rnd, after) is False  # recorded once
    rnd.extend("self_assessment", datetime(2025, 2, 5, tzinfo=ICT), ctx(SECRETARIAT, after.now), reason="Bão số 3",
               unit="01")
    assert dossier.close_window("self_assessment", rnd, after) is False  # reopened until 5 February
    later = ctx(SYSTEM, datetime(2025, 2, 5, 0, 0, 1, tzinfo=ICT))
    assert dossier.close_window("self_assessment", rnd, later) is True
    assert dossier.closed["self_assessment"] == datetime(2025, 2, 5, tzinfo=ICT)
