"""Plain-text renderings for the terminal: the results table and a score's history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")


def results_table(results: dict[str, Any], top: int = 10) -> str:
    lines = [f"PAR INDEX {results['round']} ({results['phase']}): top {top}",
             f"{'rank':>4}  {'unit':<24} {'index':>7}  group  components (%)"]
    for result in results["units"][:top]:
        components = " ".join(f"{code}:{value.quantize(CENT)}" for code, value in result.components.items())
        lines.append(f"{result.rank or '-':>4}  {result.unit.name:<24} {result.index:>7}  {result.group or '-':^5}  "
                     f"{components}")
    averages = results["averages"]
    lines.append("averages: " + "; ".join(f"{name} {value.quantize(CENT)}" for name, value in averages.items()))
    return "\n".join(lines)


def history_text(title: str, history: dict[str, Any]) -> str:
    lines = [title, f"chain verified: {'yes' if history['verified'] else 'NO'}"]
    for entry in history["events"]:
        actor = entry["actor"]
        move = ""
        if entry["points_before"] != entry["points_after"]:
            move = f"  {_points(entry['points_before'])} → {_points(entry['points_after'])}"
        lines.append(f"v{entry['version']:<3} {entry['recorded_at']:%Y-%m-%d %H:%M:%S}Z  {entry['type']:<22} "
                     f"{actor['role']:<11} {actor['id']:<32}{move}")
        if entry["reason"]:
            lines.append(f"       reason: {entry['reason']}")
        lines.append(f"       hash {entry['hash'][:16]}…  prev {entry['prev_hash'][:16]}…")
    return "\n".join(lines)


def _points(value: Decimal | None) -> str:
    return "—" if value is None else str(value)
