"""`council verify [--round R] [--sample N] [--views]`: what GET /api/v1/verify answers, as JSON; exit 0 when
the record holds, 1 when it does not."""

from __future__ import annotations

import argparse
import json
from typing import Any

from council.cli.runtime import UsageError, components


def verify(args: argparse.Namespace) -> int:
    if args.sample is not None and args.sample < 1:
        raise UsageError(f"--sample {args.sample}: sample at least one evidence file")
    with components(args.settings) as parts:
        report = parts.council.verify(args.round, args.sample, parts.read_models if args.views else None,
                                      witness=parts.read_models)
    print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    return 0 if report["valid"] else 1


def add_commands(commands: Any) -> None:
    check = commands.add_parser("verify", help="check the record: every chain and checkpoint, the evidence files, "
                                               "and with --views the read views (exit 0 valid, 1 not)")
    check.add_argument("--round", help="check only the streams of this round (evidence and views: all)")
    check.add_argument("--sample", type=int, metavar="N", help="re-hash a random sample of N evidence files")
    check.add_argument("--views", action="store_true",
                       help="also compare the read views with a fresh fold of the log (folds the whole log)")
    check.set_defaults(run=verify)
