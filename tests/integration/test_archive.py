"""The round archive (issue 10): exported from a played round, verified offline; one changed byte is named."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from council import archive_verifier
from council.archive_export import export_round
from tests.builders import SECRETARIAT
from tests.integration.test_whole_round import played  # noqa: F401

VERIFIER = Path(archive_verifier.__file__)


@pytest.fixture
def archive(components, council, read_models, played, tmp_path) -> Path:  # noqa: F811
    council.sign_checkpoint(SECRETARIAT, read_models.leaves())
    target = tmp_path / "round.zip"
    export_round(components, played, target, with_evidence=True)
    return target


def rewrite(source: Path, target: Path, member: str, change: Callable[[bytes], bytes]) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = old.read(name)
            new.writestr(name, change(data) if name == member else data)
    return target


def once(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def change(data: bytes) -> bytes:
        assert old in data, old
        return data.replace(old, new, 1)
    return change


def flip_hex(text: str) -> str:
    return ("1" if text[0] != "1" else "2") + text[1:]


def test_an_archive_of_a_played_round_verifies(archive, capsys):
    assert archive_verifier.main([str(archive)]) == 0
    out = capsys.readouterr().out
    assert "VALID" in out and "Merkle root" in out and "recomputed" in out


def test_the_cli_exports_and_verifies(archive, played, env, monkeypatch, tmp_path, capsys):  # noqa: F811
    from council.cli.main import main
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    target = tmp_path / "cli.zip"
    assert main(["archive", "export", played, str(target)]) == 0
    assert main(["archive", "verify", str(target)]) == 0
    assert "VALID" in capsys.readouterr().out


def _adjusted_line(archive: Path) -> bytes:
    with zipfile.ZipFile(archive) as z:
        return next(line for line in z.read("events.jsonl").splitlines() if b"council-adjusted" in line)


def _cases(archive: Path) -> dict[str, tuple[str, Callable[[bytes], bytes], str]]:
    with zipfile.ZipFile(archive) as z:
        head = json.loads(z.read("checkpoints.json"))[-1]
        leaf = z.read("leaves.jsonl").splitlines()[1]
        evidence = next(n for n in z.namelist() if n.startswith("evidence/"))
        evidence_data = z.read(evidence)
    adjusted = _adjusted_line(archive)
    event_hash = json.loads(adjusted)["hash"]
    leaf_hash = json.loads(leaf)["hash"]
    return {
        "payload": ("events.jsonl", once(b'\\"_data_\\":\\"0.25\\"', b'\\"_data_\\":\\"0.26\\"'), "recomputed"),
        "hash": ("events.jsonl", once(f'"hash":"{event_hash}"'.encode(), f'"hash":"{flip_hex(event_hash)}"'.encode()),
                 "hash field"),
        "signature": ("checkpoints.json",
                      once(head["signature"][:8].encode(), flip_hex(head["signature"][:8]).encode()), "signature"),
        "leaf": ("leaves.jsonl", once(leaf_hash.encode(), flip_hex(leaf_hash).encode()), "signed root"),
        "results": ("results.json", once(b'"99.45"', b'"99.46"'), "unit 01 index"),
        "evidence": (evidence, once(evidence_data[-3:], b"X" + evidence_data[-2:]), "sha256"),
    }


@pytest.mark.parametrize("kind", ["payload", "hash", "signature", "leaf", "results", "evidence"])
def test_one_changed_byte_is_named(archive, tmp_path, capsys, kind):
    member, change, reason = _cases(archive)[kind]
    broken = rewrite(archive, tmp_path / f"{kind}.zip", member, change)
    assert archive_verifier.main([str(broken)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"FAILED: {member}: "), out
    assert reason in out, out


def test_a_changed_byte_of_the_zip_itself_is_named(archive, tmp_path, capsys):
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("results.json")
    data[info.header_offset + 30 + len(info.filename) + 5] ^= 0x01  # inside the compressed bytes
    broken = tmp_path / "raw.zip"
    broken.write_bytes(bytes(data))
    assert archive_verifier.main([str(broken)]) == 1
    assert "FAILED: results.json" in capsys.readouterr().out


def test_a_dropped_last_event_of_a_stream_is_named(archive, tmp_path, capsys):
    line = _adjusted_line(archive)
    stream = json.loads(line)["stream"]

    def drop_last(data: bytes) -> bytes:
        lines = data.splitlines(keepends=True)
        last = max(i for i, text in enumerate(lines) if json.loads(text)["stream"] == stream)
        return b"".join(lines[:last] + lines[last + 1:])
    broken = rewrite(archive, tmp_path / "dropped.zip", "events.jsonl", drop_last)
    assert archive_verifier.main([str(broken)]) == 1
    assert f"FAILED: events.jsonl: stream {stream}" in capsys.readouterr().out


def test_the_verifier_runs_alone_with_only_cryptography(archive, tmp_path):
    home = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(home)
    python = home / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "cryptography"], check=True, timeout=300)
    alone = tmp_path / "inspector" / "archive_verifier.py"
    alone.parent.mkdir()
    alone.write_bytes(VERIFIER.read_bytes())
    ok = subprocess.run([python, "-I", alone, archive], capture_output=True, text=True, timeout=120,
                        cwd=alone.parent)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "VALID" in ok.stdout
    listed = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True,
                            check=True).stdout
    assert not any(name.lower().startswith(("eventsourcing", "psycopg", "flask")) for name in listed.split())
    broken = rewrite(archive, tmp_path / "broken.zip", "results.json", once(b'"99.45"', b'"99.46"'))
    failed = subprocess.run([python, "-I", alone, broken], capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1 and "results.json" in failed.stdout
    assert sys.executable != str(python)
