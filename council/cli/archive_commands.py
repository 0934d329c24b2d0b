"""`council archive export ROUND FILE | verify FILE`: the round archive an outsider checks offline (issue 10)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from council import archive_verifier
from council.archive_export import export_round
from council.cli.runtime import components


def archive_export(args: argparse.Namespace) -> int:
    with components(args.settings) as parts:
        done = export_round(parts, args.round, Path(args.file), with_evidence=args.with_evidence)
    print(f"round {done['round']}: {done['events']} events, {done['leaves']} leaves, {done['checkpoints']} "
          f"checkpoint(s), {done['evidence']} evidence document(s)"
          + (" with their bytes" if done["with_evidence"] else "") + f" written to {args.file}")
    return 0


def archive_verify(args: argparse.Namespace) -> int:
    """Offline: no database, no server (the same module runs alone: `python -I council/archive_verifier.py`)."""
    return archive_verifier.main([args.file])


def add_commands(commands: Any) -> None:
    archive = commands.add_parser("archive", help="a round's self-contained archive, verifiable offline"
                                  ).add_subparsers(dest="archive_command", required=True)
    export = archive.add_parser("export", help="write the round's events, leaves, checkpoints, keys, criteria, "
                                "evidence manifest and results to one zip")
    export.add_argument("round", help="the round key, e.g. 2024-province")
    export.add_argument("file", help="the zip to write")
    export.add_argument("--with-evidence", action="store_true", help="also carry the evidence files' bytes")
    export.set_defaults(run=archive_export)
    verify = archive.add_parser("verify", help="check an archive offline; exit 0 when it holds, 1 naming the problem")
    verify.add_argument("file")
    verify.set_defaults(run=archive_verify)
