"""`council rounds rescore ROUND --framework FILE|ID`: a round's results under a corrected criteria tree, side by
side with its own, every rank that would change marked; nothing is recorded (issue 12, domain/rescore.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from council.cli.runtime import UsageError, components
from council.infra import criteria_trees
from domain.framework import Framework
from domain.values import Actor, Role

INSPECTOR = Actor(id="cli:rescore", role=Role.INSPECTOR)  # reads every result, writes nothing


def load_framework(given: str) -> Framework:
    """A tree file (JSON), or the id of a shipped tree."""
    path = Path(given)
    if path.suffix == ".json" or path.exists():
        try:
            return Framework.from_data(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise UsageError(f"--framework {given}: no such file") from None
        except ValueError as error:
            raise UsageError(f"--framework {given}: not a JSON criteria tree ({error})") from None
    return criteria_trees.load(given)


def rescore(args: argparse.Namespace) -> int:
    framework = load_framework(args.framework)
    with components(args.settings) as parts:
        answer = parts.read_models.rescore(args.round, framework, INSPECTOR)
    if args.json:
        print(json.dumps(answer, default=str, ensure_ascii=False, indent=2))
        return 0
    print(f"round {answer['round']}: {answer['framework_before']} → {answer['framework_after']} "
          f"({answer['changed_ranks']} rank(s) would change; nothing recorded)")
    print(f"rule: {answer['rule']}")
    print(f"{'unit':<6} {'name':<28} {'index':>7} {'→':^3} {'index':>7} {'rank':>4} {'→':^3} {'rank':>4}  change")
    for row in answer["units"]:
        change = row["rank_change"]
        mark = "" if not change else (f"▲{change}" if change > 0 else f"▼{-change}")
        print(f"{row['unit']:<6} {row['name'][:28]:<28} {row['index_before']!s:>7} {'→':^3} {row['index_after']!s:>7} "
              f"{row['rank_before']!s:>4} {'→':^3} {row['rank_after']!s:>4}  {mark}")
    return 0


def add_commands(commands: Any) -> None:
    rounds = commands.add_parser("rounds", help="rounds: re-score under a corrected criteria tree").add_subparsers(
        dest="rounds_command", required=True)
    again = rounds.add_parser("rescore", help="the round's results under another tree, beside its own (records "
                                              "nothing)")
    again.add_argument("round")
    again.add_argument("--framework", required=True, help="a criteria tree JSON file, or a shipped tree's id")
    again.add_argument("--json", action="store_true", help="the whole answer as JSON")
    again.set_defaults(run=rescore)
