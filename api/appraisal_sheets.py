"""The Secretariat's appraisal sheet (issue 14): download per unit or per field, fill in Excel, upload."""

from __future__ import annotations

from flask_smorest import Blueprint

from api.auth import protect

blp = protect(Blueprint("appraisal-sheets", __name__, url_prefix="/api/v1", description="Appraisal sheets (XLSX)"))
