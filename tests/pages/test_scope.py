"""Who reads what: the services' own checks decide, and a refusal is the 403 page; a unit officer reads their own
unit only. The results' downloads and the evidence files come with the session."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

FORBIDDEN = 'data-testid="forbidden"'


@pytest.mark.parametrize("path", ["/rounds/{key}/units/79/dossier", "/rounds/{key}/units/79/scores/1.1.1/timeline"])
def test_a_unit_officer_gets_the_403_page_for_another_units_dossier_and_timeline(as_, played, path):
    officer = as_("officer01")
    answer = officer.get(path.format(key=played.key))
    assert answer.status_code == 403
    page = answer.get_data(as_text=True)
    assert FORBIDDEN in page and "Bạn không có quyền xem trang này" in page
    assert 'data-testid="leaf-row"' not in page and 'data-testid="timeline-event"' not in page


def test_a_unit_officer_reads_their_own_units_dossier_and_timeline(as_, played):
    officer = as_("officer01")
    dossier = officer.get(f"/rounds/{played.key}/units/01/dossier")
    assert dossier.status_code == 200 and dossier.get_data(as_text=True).count('data-testid="leaf-row"') > 50
    assert officer.get(played.timeline()).status_code == 200


def test_results_before_their_publication_are_the_403_page_for_a_unit_officer(as_, played):
    for path in ("/rounds/{key}/results", "/rounds/{key}/results.csv", "/rounds/{key}/results.xlsx"):
        answer = as_("officer01").get(path.format(key=played.key))
        assert answer.status_code == 403 and FORBIDDEN in answer.get_data(as_text=True)


def test_the_queue_and_the_audit_trail_answer_only_their_readers(as_, played):
    assert as_("officer01").get("/queue").status_code == 403
    assert as_("inspector").get("/queue").status_code == 403
    assert as_("admin").get("/audit").status_code == 403  # as GET /api/v1/audit: the admin manages principals
    own = as_("officer01").get("/audit").get_data(as_text=True)
    assert 'data-testid="audit-row"' in own and "<td>79</td>" not in own  # an officer's trail: their unit's
    assert as_("officer01").get("/audit?unit=79").status_code == 403


def test_an_unknown_round_or_leaf_is_a_404_page(as_, played):
    assert as_("inspector").get("/rounds/1999-province/results").status_code == 404
    answer = as_("inspector").get(f"/rounds/{played.key}/units/01/scores/9.9.9/timeline")
    assert answer.status_code == 404 and "text/html" in answer.content_type


def test_the_results_download_as_xlsx_and_csv_with_the_session(as_, played):
    inspector = as_("inspector")
    page = inspector.get(f"/rounds/{played.key}/results").get_data(as_text=True)
    assert 'data-testid="download-xlsx"' in page and 'data-testid="download-csv"' in page
    xlsx = inspector.get(f"/rounds/{played.key}/results.xlsx")
    assert xlsx.status_code == 200 and xlsx.headers["Content-Disposition"].endswith('.xlsx"')
    rows = list(load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert any("Hà Nội" in [str(cell) for cell in row] for row in rows)
    csv = inspector.get(f"/rounds/{played.key}/results.csv")
    assert csv.status_code == 200 and "Hà Nội" in csv.data.decode("utf-8-sig")


def test_evidence_downloads_from_the_dossier_for_the_units_reader_only(as_, played, council):
    sha256 = council.score(played.disputed)["evidence"][0]["sha256"]
    assert f"/evidence/{sha256}" in as_("officer01").get(f"/rounds/{played.key}/units/01/dossier").get_data(
        as_text=True)
    answer = as_("officer01").get(f"/evidence/{sha256}")
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    answer.close()
    assert as_("officer79").get(f"/evidence/{sha256}").status_code == 404  # a stranger learns nothing
