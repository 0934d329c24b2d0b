"""The audit trail with its filters, and a council member's queue: the open explanations in their fields, each
decided from its form through the same service and write guard as the API."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from api import input_limits, problems
from api.pages import blp, i18n
from api.wiring import council, read_models
from council.services.appraisal_service import Decision
from council.services.write_guard import guarded
from domain.errors import DomainError, PermissionDeniedError
from domain.values import Actor, Role, ScoreAddress

FILTERS = ("round", "unit", "leaf", "actor", "kind", "request_id")  # `kind`: the event's type
PAGE = 100


@blp.route("/audit")
def audit() -> str:
    """Who changed what, oldest first, a hundred a page (the API's audit trail; officers see their own unit)."""
    asked = {name: request.args.get(name, "").strip()[:input_limits.NAME_MAX] for name in FILTERS}
    cursor = request.args.get("cursor", "0")
    filters = {"round_key": asked["round"], "type": asked["kind"],
               **{name: asked[name] for name in ("unit", "leaf", "actor", "request_id")}}
    page = read_models().audit(filters, g.actor, cursor=int(cursor) if cursor.isdigit() else 0, limit=PAGE)
    kept = {name: value for name, value in asked.items() if value}  # the filters the next page carries on
    return render_template("audit.html", asked=asked, kept=kept, page=page, kinds=sorted(i18n.EVENTS))


@blp.route("/queue")
def queue() -> str:
    g.actor.require_role(Role.COUNCIL)
    return render_template("queue.html", items=open_explanations(g.actor))


def open_explanations(member: Actor) -> list[dict[str, Any]]:
    """The open explanations of every round in the member's fields, never of their own ministry, each with the
    leaf's title and the score's version the decision is made under."""
    items = []
    for key in council().round_keys():
        rnd, titles = council().round(key), {leaf.code: leaf for leaf in council().framework(key).leaves()}
        names = {u["code"]: u["name"] for u in rnd["units"]}
        for row in read_models().disputes(key, member, state="open"):
            if row["leaf"].split(".")[0] not in member.fields or (
                    rnd["level"] == "ministry" and row["unit"] == member.ministry):
                continue
            score = council().score(ScoreAddress(key, row["unit"], row["leaf"]), reader=member)
            items.append({**row, "phase": rnd["phase"], "unit_name": names.get(row["unit"], row["unit"]),
                          "node": titles.get(row["leaf"]), "score": score})
    return items


@blp.route("/rounds/<round_key>/units/<unit>/scores/<leaf>/explanations/<explanation_id>/decision",
           methods=["POST"])
def decide(round_key: str, unit: str, leaf: str, explanation_id: str) -> Any:
    decision, version = request.form.get("decision", ""), request.form.get("version", "").strip()
    reason, points = request.form.get("reason", "").strip(), request.form.get("points", "").strip()
    if decision not in ("accept", "reject") or not (version.isascii() and version.isdigit() and len(version) < 17):
        abort(400, gettext("The form is incomplete: decide to accept or reject, under the score's version."))
    if len(reason) > input_limits.REASON_MAX:
        abort(400, gettext("The reason is too long."))
    at = ScoreAddress(round_key, unit, leaf)
    answer = Decision(decision == "accept", reason, (points or None) if decision == "accept" else None)
    try:
        with guarded(g.guard):
            council().decide_explanation(at, explanation_id, answer, int(version), g.actor)
    except PermissionDeniedError:
        raise
    except DomainError as error:
        flash(f"{gettext(problems.domain_title(error))}: {error}", "error")
        return redirect(url_for("pages.queue"), 303)
    done = gettext("Explanation accepted") if answer.accept else gettext("Explanation rejected")
    flash(gettext("%(done)s: %(unit)s, leaf %(leaf)s.", done=done, unit=unit, leaf=leaf), "info")
    return redirect(url_for("pages.queue"), 303)
