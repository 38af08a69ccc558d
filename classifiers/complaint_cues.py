"""Explicit complaint cues for languages the complaint head was not trained on.

The complaint head learned from English tweets only; in Spanish it misses most complaints. These
cues are the phrasing customers use to complain (service down, billed wrongly, nobody answers,
formal complaint, insults to the service) and are combined with the model's probability by a
noisy-or, so they can only raise it. Each cue has a weight: how sure it alone makes us. English
keeps the model alone: there, cues measured no better than the head.
"""

from __future__ import annotations

import re
from typing import Final

from pipeline.fold import fold

# (weight, pattern) on lower-cased, accent-free text.
_ES: Final[tuple[tuple[float, str], ...]] = (
    # the service does not work
    (
        0.7,
        r"\bsin (servicio|internet|fibra|linea|cobertura|senal|luz|conexion|telefono|tele"
        r"|wifi|datos)\b",
    ),
    (
        0.7,
        r"\bno (me )?(funciona|va|carga|conecta|llega"
        r"|tengo (internet|linea|cobertura|senal|servicio))\b",
    ),
    (0.6, r"\b(caida|caido|averia|averiado|cortado|corte de)\b"),
    (0.5, r"\b(llevo|llevamos|lleva|llevan) (\w+ ){0,2}(dias|semanas|meses|horas)\b"),
    # money
    (0.7, r"\b(me han|nos han|han) (cobrado|cargado|facturado)\b"),
    (0.6, r"\b(cobro|cargo|factura)s? (indebid|duplicad|de mas|erronea)"),
    (0.6, r"\b(no me (devuelven|reembolsan|han devuelto)|reembolso|devolucion)\b"),
    # nobody helps
    (0.6, r"\b(nadie (me )?(contesta|responde|atiende|viene|soluciona|hace nada))\b"),
    (0.5, r"\b(ni caso|sin respuesta|no contestan|no responden|me cuelgan|me tienen esperando)\b"),
    # formal complaint, threats to leave
    # ...said in the first person; the bare words are often advice to someone else
    (
        0.7,
        r"\b(he puesto|pondre|voy a poner|presentare|he presentado|voy a presentar|pienso poner"
        r"|os voy a|voy a) (una |la )?(reclamacion|hoja de reclamaciones|queja|denuncia)",
    ),
    (0.7, r"\b(os|les) (voy a )?(denunciar|denuncio|reclamo)\b"),
    (0.3, r"\b(reclamacion|reclamaciones|queja formal|denuncia|consumo|omic|facua|ocu)\b"),
    (
        0.6,
        r"\b(me doy de baja|darme de baja|me voy a (otra|la competencia)|cambio de compania"
        r"|portabilidad)\b",
    ),
    # judgement of the service
    (
        0.6,
        r"\b(verguenza|vergonzoso|estafa|estafadores|timo|fatal|pesimo|lamentable|penoso|indignante|desastre|harto|harta|hartos)\b",
    ),
    (0.4, r"\b(peor (servicio|compania|atencion)|servicio horrible|de risa)\b"),
)

_COMPILED: Final = {
    "es": tuple((w, re.compile(p)) for w, p in _ES),
}


def cue_score(text: str, lang: str, *, folded: str | None = None) -> float:
    """How strongly the wording alone says "complaint" (0 when no cue or unknown language).

    ``folded`` is ``fold(text)`` where the caller has it already.
    """
    cues = _COMPILED.get(lang)
    if not cues:
        return 0.0
    if folded is None:
        folded = fold(text)
    miss = 1.0
    for weight, pattern in cues:
        if pattern.search(folded):
            miss *= 1 - weight
    return 1 - miss


def combine(model: float, cue: float) -> float:
    """Noisy-or: the cues can raise the model's probability, never lower it."""
    return 1 - (1 - model) * (1 - cue)
