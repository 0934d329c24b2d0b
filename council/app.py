"""The Council application: every service of the appraisal stage over one event log."""

from __future__ import annotations

from council.appraisal import AppraisalServices
from council.evidence_services import EvidenceServices
from council.integrity import IntegrityServices
from council.phases import PhaseServices
from council.principals import PrincipalServices
from council.queries import QueryServices
from council.rounds import RoundServices
from council.self_assessment import SelfAssessmentServices
from council.views import ViewServices


class Council(RoundServices, PhaseServices, SelfAssessmentServices, AppraisalServices, EvidenceServices,
              QueryServices, PrincipalServices, IntegrityServices, ViewServices):
    """Commands load, call one aggregate method, save, and return receipts; queries replay streams."""
