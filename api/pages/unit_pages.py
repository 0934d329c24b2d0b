"""A unit's pages: its dossier (every leaf, its points and evidence, the windows' countdown), a score's timeline
(every event, as of a chosen time or version, with the chain's verdict) and the evidence files. The services check
who may read (a unit officer: their own unit only)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Response, abort, g, render_template, request, send_file
from flask_babel import gettext

from api.pages import blp
from api.wiring import council
from council.infra.blobs import extension_for
from council.services.deadline_service import ICT
from domain.integrity import canonical
from domain.values import Document, ScoreAddress

UNIT = "/rounds/<round_key>/units/<unit>"
AS_OF_FORMATS = ("%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M")  # as the pages show times; as a datetime-local input sends


@blp.route(f"{UNIT}/dossier")
def dossier(round_key: str, unit: str) -> str:
    found = council().dossier(round_key, unit, g.actor)  # the reader's check comes first
    scores = {state["leaf"]: state for state in council().unit_scores(round_key, unit, reader=g.actor)}
    rnd = council().round(round_key)
    name = next(u["name"] for u in rnd["units"] if u["code"] == unit)
    leaves = council().framework(round_key).leaves()
    return render_template("dossier.html", round_key=round_key, unit=unit, name=name, dossier=found,
                           leaves=leaves, scores=scores)


@blp.route(f"{UNIT}/scores/<leaf>/timeline")
def timeline(round_key: str, unit: str, leaf: str) -> str:
    at = ScoreAddress(round_key, unit, leaf)
    version, as_of = _cut()
    history = council().history(at, version=version, as_of=as_of, reader=g.actor)
    node = next((n for n in council().framework(round_key).leaves() if n.code == leaf), None)
    events = [{**event, "actor": canonical(event["actor"]), "evidence": evidence_of(canonical(event["data"]))}
              for event in history["events"]]
    return render_template("timeline.html", at=at, node=node, history=history, events=events, version=version,
                           as_of=request.args.get("as_of", "").strip())


@blp.route("/evidence/<sha256>")
def evidence(sha256: str) -> Response:
    """The file as GET /api/v1/evidence/<sha256> gives it: an attachment, its type not second-guessed."""
    stream, media_type, size = council().evidence_file(sha256, g.actor)
    response = send_file(stream, mimetype=media_type, as_attachment=True, etag=sha256, max_age=0,
                         download_name=Document.clean_name(f"{sha256}{extension_for(media_type)}"))
    response.headers["Content-Length"] = str(size)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _cut() -> tuple[int | None, datetime | None]:
    """?version=N, or ?as_of= a minute in ICT: the events recorded up to the end of that minute (the pages show
    times to the minute, so a time read off the page includes the events shown at it)."""
    version, as_of = request.args.get("version", "").strip(), request.args.get("as_of", "").strip()
    if version and not (version.isascii() and version.isdigit() and len(version) <= 16):
        abort(400, gettext("The version is a whole number."))
    if not as_of:
        return (int(version) if version else None), None
    for form in AS_OF_FORMATS:
        try:
            moment = datetime.strptime(as_of, form).replace(tzinfo=ICT)
        except ValueError:
            continue
        return (int(version) if version else None), moment + timedelta(minutes=1, microseconds=-1)
    abort(400, gettext("Write the time as dd/mm/yyyy HH:MM (Vietnam time)."))


def evidence_of(data: dict[str, Any]) -> list[dict[str, str]]:
    """The files an event names: the document it attached, the one it withdrew, those an explanation cites."""
    found = [data["document"]] if isinstance(data.get("document"), dict) else []
    found += [{"sha256": sha, "name": sha[:12]} for sha in data.get("evidence") or ()]
    if data.get("sha256"):
        found.append({"sha256": data["sha256"], "name": data["sha256"][:12]})
    return found
