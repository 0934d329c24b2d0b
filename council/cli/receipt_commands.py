"""`council keys init | rotate | list` and `council receipts verify FILE`: the keys that sign the receipts of
writes, and the check of a receipt a client kept (docs/decisions/0008)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from council import bootstrap
from council.cli.runtime import UsageError, components
from council.infra.clock import utcnow
from council.infra.keyring import PublicKey


def keys_init(args: argparse.Namespace) -> int:
    keyring = bootstrap.open_keyring(args.settings)
    key, created = keyring.init(utcnow())
    where = "from COUNCIL_SIGNING_KEY" if args.settings.signing_key_pem else f"in {keyring.key_file} (mode 0600)"
    print(f"signing key {key.key_id} {'created' if created else 'kept'} {where}; public keys in {keyring.registry}")
    return 0


def keys_rotate(args: argparse.Namespace) -> int:
    keyring = bootstrap.open_keyring(args.settings)
    new, old = keyring.rotate(utcnow())
    retired = f"; {old.key_id} retired, its signatures stay valid" if old is not None else ""
    print(f"signing key {new.key_id} is current from {new.as_json()['valid_from']}{retired}")
    return 0


def keys_list(args: argparse.Namespace) -> int:
    keyring = bootstrap.open_keyring(args.settings)
    rows = keyring.keys()
    for key in rows:
        print(_key_line(key))
    print(f"{len(rows)} key(s); public keys in {keyring.registry}")
    return 0


def receipts_verify(args: argparse.Namespace) -> int:
    """Every receipt of the file (one write's answer: a receipt, or a list of them): a verdict each; exit 1 when
    any does not hold."""
    receipts = _receipts(Path(args.file))
    with components(args.settings) as parts:
        verdicts = [_verdict(parts.council, receipt) for receipt in receipts]
    for receipt, verdict in zip(receipts, verdicts, strict=True):
        what = f"{receipt.get('stream')} v{receipt.get('version')} {receipt.get('type', '')}".rstrip()
        print(f"{'valid' if verdict['valid'] else 'INVALID'}: {what}: {verdict['reason']}")
    bad = sum(not verdict["valid"] for verdict in verdicts)
    print(f"{len(verdicts) - bad} of {len(verdicts)} receipt(s) valid")
    return 1 if bad else 0


def _verdict(council: Any, receipt: dict[str, Any]) -> dict[str, Any]:
    missing = [name for name in ("stream", "version", "event_hash") if name not in receipt]
    if missing:
        return {"valid": False, "reason": f"not a receipt: it lacks {', '.join(missing)}"}
    try:
        return dict(council.verify_receipt(receipt))
    except (ValueError, TypeError) as error:
        return {"valid": False, "reason": f"not a receipt: {error}"}


def _receipts(path: Path) -> list[dict[str, Any]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise UsageError(f"{path} is not JSON: {error}") from None
    receipts = document if isinstance(document, list) else [document]
    if not receipts or not all(isinstance(receipt, dict) for receipt in receipts):
        raise UsageError(f"{path} holds neither a receipt (a JSON object) nor a list of them")
    return receipts


def _key_line(key: PublicKey) -> str:
    shown = key.as_json()
    status = "current" if key.valid_until is None else f"retired {shown['valid_until']}"
    return f"{key.key_id}  {shown['algorithm']}  from {shown['valid_from'] or 'unregistered'}  {status}"


def add_commands(commands: Any) -> None:
    keys = commands.add_parser("keys", help="the Ed25519 keys that sign receipts").add_subparsers(
        dest="keys_command", required=True)
    keys.add_parser("init", help="create the signing key if there is none (mode 0600, never in the database)"
                    ).set_defaults(run=keys_init)
    keys.add_parser("rotate", help="a new signing key; the old one stays as retired, still verifiable"
                    ).set_defaults(run=keys_rotate)
    keys.add_parser("list", help="current and retired public keys").set_defaults(run=keys_list)
    receipts = commands.add_parser("receipts", help="check receipts kept from writes").add_subparsers(
        dest="receipts_command", required=True)
    check = receipts.add_parser("verify", help="check a write's answer: signature, event in the log, chain")
    check.add_argument("file", help="the JSON answer of a write: one receipt or a list of them")
    check.set_defaults(run=receipts_verify)
