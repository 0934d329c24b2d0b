"""The round archive: one zip an outsider checks offline with `council/archive_verifier.py` (issue 10).

Members (all UTF-8 JSON; the format is read by the verifier, which documents each check):

- ``manifest.json``: format, round key, when exported, the member names;
- ``events.jsonl``: every event of the round's streams and of the Ledger stream, in position order, one per line:
  ``{"position", "stream", "version", "topic", "state", "hash"}``, ``state`` being the stored state exactly as
  the event store holds it (a JSON text);
- ``leaves.jsonl``: the leaf entries ``{"position", "stream", "version", "hash"}`` of the WHOLE log up to the
  latest checkpoint's tree size (docs/decisions/0010), so the Merkle root can be recomputed;
- ``checkpoints.json``: every signed checkpoint, oldest first;
- ``public-keys.json``: the keyring's public keys (current and retired);
- ``criteria.json``: the criteria tree from the round's opening event;
- ``evidence.json``: the evidence manifest (sha256, size, media type, name) of the round's documents; with
  ``with_evidence`` also ``evidence/<sha256>``, the bytes;
- ``results.json``: the results of the read views (index, fields, rank, group per unit).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from council.bootstrap import Components
from domain.errors import NotFoundError
from domain.ids import ledger_id

FORMAT = "par-council round archive v1"
PAGE = 1000


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, indent=1, default=str)


def _line(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def _notifications(parts: Components) -> Iterator[Any]:
    recorder = parts.council.recorder
    start = 1
    while True:
        page = recorder.select_notifications(start=start, limit=PAGE)
        yield from page
        if len(page) < PAGE:
            return
        start = page[-1].id + 1


def _state_text(notification: Any) -> str:
    return bytes(notification.state).decode("utf-8")


def _round_of(state: dict[str, Any]) -> str | None:
    found = state.get("round_key") or state.get("key")
    return found if isinstance(found, str) else None


def export_round(parts: Components, round_key: str, target: Path, with_evidence: bool = False) -> dict[str, Any]:
    """Write the archive of `round_key` to `target`; answer what it holds (counts)."""
    checkpoints = parts.council.checkpoints()
    size = checkpoints[-1]["tree_size"] if checkpoints else 0
    ledger = ledger_id()
    in_round: set[UUID] = {ledger}
    events: list[str] = []
    leaves: list[str] = []
    opening: dict[str, Any] | None = None
    documents: dict[str, dict[str, Any]] = {}
    for index, notification in enumerate(_notifications(parts)):
        state = json.loads(_state_text(notification))
        stream = notification.originator_id
        if index < size:
            leaves.append(_line({"position": notification.id, "stream": str(stream),
                                 "version": notification.originator_version, "hash": state["hash"]}))
        if notification.originator_version == 1 and _round_of(state) == round_key:
            in_round.add(stream)
            if "framework" in state:
                opening = state
        if stream not in in_round:
            continue
        _collect_documents(state, documents)
        events.append(_line({"position": notification.id, "stream": str(stream),
                             "version": notification.originator_version, "topic": notification.topic,
                             "state": _state_text(notification), "hash": state["hash"]}))
    if opening is None:
        raise NotFoundError(f"round {round_key} not found")
    results = _results(parts, round_key)
    members = ["manifest.json", "events.jsonl", "leaves.jsonl", "checkpoints.json", "public-keys.json",
               "criteria.json", "evidence.json", "results.json"]
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("events.jsonl", "".join(events))
        archive.writestr("leaves.jsonl", "".join(leaves))
        archive.writestr("checkpoints.json", _dumps(checkpoints))
        archive.writestr("public-keys.json", _dumps(_public_keys(parts)))
        archive.writestr("criteria.json", _dumps(opening["framework"]))
        archive.writestr("evidence.json", _dumps(sorted(documents.values(), key=lambda d: d["sha256"])))
        archive.writestr("results.json", _dumps(results))
        if with_evidence:
            for sha in sorted(documents):
                with parts.blobs.open(sha) as blob:
                    archive.writestr(f"evidence/{sha}", blob.read())
                members.append(f"evidence/{sha}")
        archive.writestr("manifest.json", _dumps({
            "format": FORMAT, "round": round_key, "exported_at": datetime.now(UTC).isoformat(),
            "tree_size": size, "with_evidence": with_evidence, "members": members}))
    return {"round": round_key, "events": len(events), "leaves": len(leaves), "checkpoints": len(checkpoints),
            "evidence": len(documents), "with_evidence": with_evidence}


def _collect_documents(state: Any, found: dict[str, dict[str, Any]]) -> None:
    """Every stored Document (transcoded as ``{"_type_": "document", "_data_": {...}}``) anywhere in a state."""
    if isinstance(state, dict):
        if state.get("_type_") == "document" and isinstance(state.get("_data_"), dict):
            data = state["_data_"]
            found.setdefault(data["sha256"], {"sha256": data["sha256"], "size": data.get("size"),
                                              "media_type": data.get("media_type"), "name": data.get("name")})
            return
        for value in state.values():
            _collect_documents(value, found)
    elif isinstance(state, list):
        for value in state:
            _collect_documents(value, found)


def _public_keys(parts: Components) -> dict[str, Any]:
    return {"current": parts.keyring.current_id(), "keys": [key.as_json() for key in parts.keyring.keys()]}


def _results(parts: Components, round_key: str) -> dict[str, Any]:
    found = parts.read_models.results(round_key)
    return {"round": round_key, "phase": found["phase"], "units": [
        {"unit": r.unit.code, "index": str(r.index), "fields": {k: str(v) for k, v in r.fields.items()},
         "rank": r.rank, "group": r.group} for r in found["units"]]}
