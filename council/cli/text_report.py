"""Plain-text renderings for the terminal: the results table and a score's history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")


def results_table(results: dict[str, Any], top: int = 10) -> str:
    lines = [f"PAR INDEX {results['round']} ({results['phase']}): top {top}",
             f"{'rank':>4} {'±':>4}  {'unit':<24} {'index':>7}  group  components (%)"]
    for result in results["units"][:top]:
        components = " ".join(f"{code}:{value.quantize(CENT)}" for code, value in result.components.items())
        lines.append(f"{result.rank or '-':>4} {_move(result):>4}  {result.unit.name:<24} {result.index:>7}  "
                     f"{result.group or '-':^5}  {components}")
    averages = results["averages"]
    lines.append("averages: " + "; ".join(f"{name} {value.quantize(CENT)}" for name, value in averages.items()))
    summary = results.get("summary")
    if summary is not None and summary.mean is not None:
        groups = ", ".join(f"{name} {count}" for name, count in summary.groups.items())
        lines.append(f"mean {summary.mean.quantize(CENT)}, {summary.above_mean} of {summary.ranked} above it; "
                     f"groups: {groups}, none {summary.ungrouped}")
        if summary.previous_round:
            lines.append(f"against {summary.previous_round}: rose {summary.rose}, fell {summary.fell}, "
                         f"stayed {summary.stayed}, new {summary.new}")
            moves = summary.index_moves
            if moves is not None:
                rises = f" (+{moves.smallest_rise} to +{moves.largest_rise})" if moves.rose else ""
                falls = f" ({moves.smallest_fall} to {moves.largest_fall})" if moves.fell else ""
                lines.append(f"index: rose {moves.rose}{rises}, fell {moves.fell}{falls}")
    return "\n".join(lines)


def _move(result: Any) -> str:
    """The change of rank against the previous round: ▲3 rose three places, ▼2 fell two, = stayed, mới (new)."""
    if result.new:
        return "mới"
    if result.rank_change is None:
        return ""
    if result.rank_change > 0:
        return f"▲{result.rank_change}"
    return f"▼{-result.rank_change}" if result.rank_change < 0 else "="


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
