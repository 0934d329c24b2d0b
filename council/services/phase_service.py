"""Phase changes and what each one sets off: release, silence as acceptance, finalization."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from council.services.application import CouncilBase, Receipt
from domain.ids import round_id
from domain.round import Round
from domain.values import Actor, Context, blank


class PhaseServices(CouncilBase):
    def advance_phase(self, key: str, to_phase: str, actor: Actor, reason: str = "") -> Receipt:
        """Move the round on; the work a phase change implies is recorded first, one save per unit,
        so a run cut short can simply be repeated (every step is idempotent). A change that would cut a
        unit's open window short is refused (`window-open`) unless `reason` says why; the reason is then
        recorded on the phase event and on every acceptance the early close sets off."""
        rnd = self._load(round_id(key), f"round {key}")
        ctx = self.context(actor)
        rnd.require_advance(to_phase, ctx, reason)
        consequences: dict[str, Callable[[Round, str, Context], int]] = {
            "explanation": self._release, "council_review": partial(self._accept_silence, early_reason=reason),
            "finalized": self._finalize}
        consequence = consequences.get(to_phase)
        if consequence is not None:
            for code in rnd.units:
                consequence(rnd, code, ctx)
        rnd.advance(to_phase, ctx, reason=reason)
        return self._save(rnd)[-1]

    def close_explanation_window(self, key: str, actor: Actor) -> int:
        """Record PreliminaryAccepted on every leaf left unexplained by a unit whose window has closed (units
        still in their window, an extension counted, are left for a later run); returns how many were recorded."""
        rnd, ctx = self._round(key), self.context(actor)
        rnd.require_phase("explanation", "council_review")
        return sum(self._accept_silence(rnd, code, ctx) for code in rnd.units)

    def _release(self, rnd: Round, unit: str, ctx: Context) -> int:
        dossier = self._dossier(rnd, unit, ctx)
        changed = dossier.release_preliminary(ctx)
        self._save(dossier, final=False)
        return int(changed)

    def _accept_silence(self, rnd: Round, unit: str, ctx: Context, early_reason: str = "") -> int:
        """Silence as acceptance for one unit: after its window's close, or when the Secretariat closes it
        early with `early_reason` (the acceptances then record that reason, not a silence)."""
        if blank(early_reason) and ctx.now < rnd.closes_at("explanation", unit):
            return 0
        scores = [self._score(rnd, unit, leaf.code, ctx) for leaf in rnd.framework.leaves("appraisal")]
        accepted = [score for score in scores if score.accept_preliminary(rnd, ctx, early_reason)]
        self._save(*accepted, final=False)
        return len(accepted)

    def _finalize(self, rnd: Round, unit: str, ctx: Context) -> int:
        """Every leaf gets a Finalized event, a leaf nobody scored with 0.00, so every score has a stream."""
        scores = [self._score(rnd, unit, leaf.code, ctx) for leaf in rnd.framework.leaves()]
        finalized = [score for score in scores if score.finalize(rnd, ctx)]
        self._save(*finalized, final=False)
        return len(finalized)
