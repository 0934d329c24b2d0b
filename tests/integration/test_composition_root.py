"""One composition root: two configurations built side by side in one process each write only their own files."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

from council import bootstrap
from council.services.evidence_service import Upload
from council.services.write_guard import Claim, Guard, guarded
from tests.builders import officer, open_round, stored_document

PDF = b"%PDF-1.4\n% Quyet dinh 12/QD-UBND\n"


def event_count(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        return int(conn.execute("SELECT count(*) FROM stored_events").fetchone()[0])


def files_under(folder: Path) -> list[Path]:
    """Stored files, not the blob store's folder for uploads in progress."""
    if not folder.exists():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).parts[0] != "tmp")


def test_two_configurations_in_one_process_each_write_only_their_own_database_and_folder(tmp_path, monkeypatch,
                                                                                        clock):
    # What the process environment says must not matter once a mapping is given.
    monkeypatch.setenv("COUNCIL_DATABASE_URL", f"sqlite:///{tmp_path}/from-os-environ.db")
    monkeypatch.setenv("COUNCIL_EVIDENCE_DIR", str(tmp_path / "from-os-environ"))
    envs = {name: {"COUNCIL_DATABASE_URL": f"sqlite:///{tmp_path}/{name}.db",
                   "COUNCIL_EVIDENCE_DIR": str(tmp_path / f"evidence-{name}"),
                   "COUNCIL_DATA_DIR": str(tmp_path / f"data-{name}")} for name in ("a", "b")}
    parts = {}
    for name, env in envs.items():
        settings = bootstrap.settings(env)
        bootstrap.init_db(settings)
        parts[name] = bootstrap.build(settings, clock=clock)
    try:
        open_round(parts["a"].council)
        a_events = event_count(tmp_path / "a.db")
        with guarded(Guard(claim=Claim("officer@01", "key-1", "hash"))):  # an Idempotency-Key claimed in b
            stored = parts["b"].council.store_evidence(Upload(io.BytesIO(PDF), "application/pdf"), officer("01"))
        assert event_count(tmp_path / "b.db") == 1  # the blob uploaded, and nothing of round a
        assert event_count(tmp_path / "a.db") == a_events > 0
        assert parts["a"].idempotency.lookup("officer@01", "key-1") is None
        assert parts["b"].idempotency.lookup("officer@01", "key-1") is not None
        assert [p.name for p in files_under(tmp_path / "evidence-b")] == [stored["sha256"]]
        assert files_under(tmp_path / "evidence-a") == []
        assert parts["a"].council.blobs is parts["a"].blobs and parts["a"].blobs is not parts["b"].blobs
    finally:
        for built in parts.values():
            built.close()
    assert not (tmp_path / "from-os-environ.db").exists() and not (tmp_path / "from-os-environ").exists()
    # Each data folder holds only its own signing key (made by db init), nothing of the other configuration.
    for name in ("a", "b"):
        assert {p.relative_to(tmp_path / f"data-{name}").parts[0] for p in files_under(tmp_path / f"data-{name}")} <= {
            "keys"}


def test_the_read_models_read_the_log_of_their_own_configuration(tmp_path, clock):
    built = []
    for name in ("a", "b"):
        settings = bootstrap.settings({"COUNCIL_DATA_DIR": str(tmp_path / name)})
        bootstrap.init_db(settings)
        built.append(bootstrap.build(settings, clock=clock))
    try:
        key = open_round(built[0].council)
        built[0].council.self_assess(key, "01", [{"leaf": "2.1.1", "points": "0.50",
                                                  "evidence": [stored_document(built[0].council, "01", "a")]}],
                                     officer("01"))
        assert built[0].read_models.status()["head"] > 0
        assert built[1].read_models.status() == {"name": "council", "generation": 1, "position": 0, "head": 0,
                                                 "lag": 0}
        assert (tmp_path / "a" / "council.db").exists() and (tmp_path / "b" / "council.db").exists()
    finally:
        for parts in built:
            parts.close()
