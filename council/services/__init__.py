"""The service layer: the Council application, every command and stream query of the appraisal stage."""

from __future__ import annotations

from council.services.appraisal_service import AppraisalServices
from council.services.deadline_service import DeadlineServices
from council.services.evidence_service import EvidenceServices
from council.services.ledger_service import LedgerServices
from council.services.principal_service import PrincipalServices
from council.services.publication_service import PublicationServices
from council.services.round_service import RoundServices
from council.services.score_queries import ScoreQueries
from council.services.self_assessment_service import SelfAssessmentServices
from council.services.verification_service import VerificationServices


class Council(RoundServices, DeadlineServices, SelfAssessmentServices, AppraisalServices, EvidenceServices,
              ScoreQueries, PrincipalServices, VerificationServices, LedgerServices, PublicationServices):
    """Commands load, call one aggregate method, save, and return receipts; queries replay streams."""
