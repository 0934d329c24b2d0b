"""Round services: open a round, advance its phase, extend a window."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from council import frameworks
from council.application import CouncilBase, Receipt
from domain.errors import AlreadyExistsError, InvalidRoundError
from domain.ids import round_id, round_key
from domain.round import Round
from domain.values import Actor, Unit, Window, to_points

DEFAULT_THRESHOLDS = {"A": "90.00", "B": "80.00", "C": "70.00"}


class RoundServices(CouncilBase):
    def open_round(self, *, year: int, framework_id: str, units: Sequence[Mapping[str, Any]],
                   windows: Mapping[str, Mapping[str, Any]], actor: Actor,
                   thresholds: Mapping[str, Any] | None = None, request_id: str | None = None) -> Receipt:
        framework = frameworks.load(framework_id)
        key = round_key(year, framework.level)
        if self.recorder.select_events(round_id(key), limit=1):
            raise AlreadyExistsError(f"round {key} is already open")
        try:
            parsed_units = [Unit.from_dict(dict(u)) for u in units]
            parsed_windows = {name: Window.from_dict(dict(w)) for name, w in windows.items()}
        except (TypeError, ValueError) as error:
            raise InvalidRoundError(f"units or windows are malformed: {error}") from None
        rnd = Round.open(
            year=year, framework=framework, units=parsed_units, windows=parsed_windows,
            thresholds={k: to_points(v) for k, v in (thresholds or DEFAULT_THRESHOLDS).items()},
            ctx=self.context(actor, request_id),
        )
        return self._save(rnd)[-1]

    def extend_window(self, key: str, window: str, closes_at: datetime, reason: str, actor: Actor,
                      unit: str | None = None, request_id: str | None = None) -> Receipt:
        rnd = self._load(round_id(key), f"round {key}")
        rnd.extend(window, closes_at, self.context(actor, request_id), reason=reason, unit=unit)
        return self._save(rnd)[-1]

    def round(self, key: str) -> dict[str, Any]:
        rnd = self._round(key)
        return {
            "key": rnd.key, "year": rnd.year, "level": rnd.level, "phase": rnd.phase, "version": rnd.version,
            "framework": {"id": rnd.framework.id, "hash": rnd.framework_hash},
            "units": [vars(unit) for unit in rnd.units.values()],
            "windows": {name: {"opens_at": w.opens_at, "closes_at": rnd.closes_at(name)}
                        for name, w in rnd.windows.items()},
            "extensions": [{"window": w, "unit": u, "closes_at": t} for (w, u), t in rnd.extensions.items()],
            "thresholds": rnd.thresholds,
        }
