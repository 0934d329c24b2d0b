"""`council checkpoints sign | list`: signed tree heads of the Merkle tree over the log (docs/decisions/0010)."""

from __future__ import annotations

import argparse
from typing import Any

from council.cli.principal_commands import operator
from council.cli.runtime import components


def checkpoints_sign(args: argparse.Namespace) -> int:
    """Catch the ledger view up, sign the tree head over every event of the log, record it in the log."""
    with components(args.settings) as parts:
        head, receipt = parts.council.sign_checkpoint(operator(), parts.read_models.leaves())
    print(_line({**head, "version": receipt.version}))
    print(f"recorded at position {receipt.notification_id} of the log")
    return 0


def checkpoints_list(args: argparse.Namespace) -> int:
    with components(args.settings) as parts:
        found = parts.council.checkpoints()
    for head in found:
        print(_line(head))
    print(f"{len(found)} checkpoint(s)")
    return 0


def _line(head: dict[str, Any]) -> str:
    return (f"tree size {head['tree_size']} root {head['root']} signed at {head['signed_at']} by key {head['key_id']}"
            f" signature {head['signature']}")


def add_commands(commands: Any) -> None:
    checkpoints = commands.add_parser("checkpoints", help="signed checkpoints of the log's Merkle tree").add_subparsers(
        dest="checkpoints_command", required=True)
    checkpoints.add_parser("sign", help="sign a checkpoint over the whole log now and record it"
                           ).set_defaults(run=checkpoints_sign)
    checkpoints.add_parser("list", help="every recorded checkpoint, oldest first").set_defaults(run=checkpoints_list)
