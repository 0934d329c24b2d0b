"""`council keys init | rotate | list` and `council receipts verify FILE` as a user runs them: a kept answer
verifies (exit 0), a changed one does not (exit 1), a rotation keeps it valid, a bad file is a usage error."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api import create_app
from council import bootstrap
from tests.api.conftest import ADMIN
from tests.builders import WINDOWS
from tests.e2e.test_cli_failures import CONFIG, REFUSED, USAGE, council, one_line


def write_answers(tmp_path) -> list[dict]:
    """A round opened over HTTP (in-process) on the data folder the commands use; its answer, as a client kept it."""
    env = {"COUNCIL_DATA_DIR": str(tmp_path)}
    app = create_app({"TESTING": True, "COUNCIL_ENV": env})
    try:
        parts = app.extensions["par-council"].get()
        token = parts.council.add_principal("thuky", "secretariat", ADMIN)[1]
        body = {"year": 2024, "framework": "province-876-2022", "units": [{"code": "01", "name": "Hà Nội"}],
                "windows": {n: {k: v.isoformat() for k, v in w.items()} for n, w in WINDOWS.items()}}
        answer = app.test_client().post("/api/v1/rounds", json=body, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 201, answer.json
        return [answer.json]
    finally:
        app.extensions["par-council"].close()


def test_keys_and_receipts_commands(tmp_path):
    done = council(tmp_path, "keys", "list")
    assert (done.returncode, done.stdout.splitlines()[-1].split()[0]) == (0, "0")  # no key before init
    done = council(tmp_path, "db", "init")
    assert done.returncode == 0, done.stderr
    first = json.loads((tmp_path / "keys" / "public-keys.json").read_text())["keys"][0]["key_id"]
    assert f"signed by key {first}" in done.stdout
    assert (tmp_path / "keys" / "signing-key.pem").stat().st_mode & 0o777 == 0o600
    done = council(tmp_path, "keys", "init")
    assert (done.returncode, f"signing key {first} kept" in done.stdout) == (0, True), done.stdout

    kept = tmp_path / "answer.json"
    receipt = write_answers(tmp_path)[0]
    assert receipt["key_id"] == first
    kept.write_text(json.dumps(receipt))
    done = council(tmp_path, "receipts", "verify", str(kept))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("valid: ") and "1 of 1 receipt(s) valid" in done.stdout

    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps([receipt, receipt | {"type": "council-adjusted"}]))
    done = council(tmp_path, "receipts", "verify", str(changed))
    assert done.returncode == REFUSED
    assert "INVALID: " in done.stdout and "1 of 2 receipt(s) valid" in done.stdout

    done = council(tmp_path, "keys", "rotate")
    assert done.returncode == 0 and f"{first} retired" in done.stdout, done.stdout + done.stderr
    done = council(tmp_path, "keys", "list")
    assert done.returncode == 0 and "current" in done.stdout.splitlines()[0] and "retired" in done.stdout
    assert council(tmp_path, "receipts", "verify", str(kept)).returncode == 0  # still valid after the rotation

    for content in ("not json", "[]", "[1, 2]"):
        kept.write_text(content)
        done = council(tmp_path, "receipts", "verify", str(kept))
        assert done.returncode == USAGE, content
        one_line(done)
    assert council(tmp_path, "receipts", "verify", str(tmp_path / "missing.json")).returncode == USAGE


def test_a_key_from_the_environment_is_registered_and_never_written_to_a_file(tmp_path):
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    done = council(tmp_path, "keys", "init", COUNCIL_SIGNING_KEY=pem)
    assert done.returncode == 0 and "from COUNCIL_SIGNING_KEY" in done.stdout, done.stdout + done.stderr
    assert not (tmp_path / "keys" / "signing-key.pem").exists()
    assert pem.splitlines()[1] not in (tmp_path / "keys" / "public-keys.json").read_text()
    done = council(tmp_path, "keys", "rotate", COUNCIL_SIGNING_KEY=pem)
    assert done.returncode == CONFIG and "COUNCIL_SIGNING_KEY" in one_line(done)
    done = council(tmp_path, "keys", "list", COUNCIL_SIGNING_KEY="not a key")
    assert done.returncode == CONFIG and "not an unencrypted PEM" in one_line(done)
    keyring = bootstrap.open_keyring(bootstrap.settings({"COUNCIL_DATA_DIR": str(tmp_path),
                                                         "COUNCIL_SIGNING_KEY": pem}))
    assert keyring.current is not None and keyring.current.valid_from is not None


def test_the_key_file_can_live_elsewhere(tmp_path):
    elsewhere = tmp_path / "secrets" / "council.pem"
    done = council(tmp_path, "keys", "init", COUNCIL_SIGNING_KEY_FILE=str(elsewhere))
    assert done.returncode == 0, done.stderr
    assert elsewhere.stat().st_mode & 0o777 == 0o600 and (elsewhere.parent / "public-keys.json").exists()
    assert not (tmp_path / "keys").exists()
