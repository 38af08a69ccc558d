"""Urgency: the model's complaint/severity view combined with explicit Spanish and English signals.

Each signal found adds evidence with a weight; evidence combines as a noisy-or
(``1 - prod(1 - w)``) into a score in [0, 1], cut into levels 0 none, 1 normal, 2 high,
3 critical. Every contribution leaves a short English reason ("safety: gas leak",
"reach: 120k followers") so an agent sees why a mention was ranked where it is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from pipeline.fold import fold
from pipeline.records import TextItem, Urgency

LEVEL_CUTS = (0.22, 0.5, 0.78)  # score ≥ cut → level 1, 2, 3 (tuned on the brand-mention set)


@dataclass(frozen=True, slots=True)
class ModelView:
    """What the transformer says about one text."""

    complaint: float  # probability
    severity: float  # [0, 1]
    negative: float  # p(negative)
    threshold: float = 0.5


@dataclass(frozen=True, slots=True)
class RiskView:
    """What the risk head (classifiers/risk.py) says about one text."""

    score: float  # on the urgency scale: a found category lands in its level's band
    found: tuple[tuple[str, float], ...] = ()  # (category key, probability), highest first
    level: int = 0  # the highest level the found categories set


@dataclass(frozen=True, slots=True)
class Signal:
    reason: str
    weight: float
    pattern: re.Pattern[str]
    critical: bool = False  # safety-class: never below level 2 when the text is negative
    negatable: bool = True  # "no hay fuga de gas" cancels; "no saltó el airbag" does not


def _p(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(alternatives) + r")", re.IGNORECASE)


SIGNALS: tuple[Signal, ...] = (
    Signal(
        "safety: gas leak",
        0.85,
        _p(
            r"fuga de gas",
            r"escape de gas",
            r"olor (fuerte )?a gas",
            r"huele (\w+ )?a gas",
            r"gas leak",
            r"smell(s|ing)? (\w+ )?(of )?gas",
            r"leaking gas",
            r"monoxido",
            r"carbon monoxide",
        ),
        critical=True,
    ),
    Signal(
        "hazard: fire",
        0.8,
        _p(
            r"incendio",
            r"se (ha )?(incendi|quem)",
            r"salio (humo|fuego)",
            r"sale humo",
            r"echa(ba)? humo",
            r"en llamas",
            r"(salio|ha salido|sale|salido) ardiendo",
            r"calcinad",
            r"caught fire",
            r"burst into flames",
            r"on fire and",
            r"smoke (coming|pouring)",
            r"started smoking",
            r"exploto",
            r"exploded",
            r"explosion",
        ),
        critical=True,
    ),
    Signal(
        "hazard: electrical",
        0.8,
        _p(
            r"descarga electrica",
            r"calambrazo",
            r"me dio (la )?corriente",
            r"chispas",
            r"cortocircuito",
            r"cables? (pelados?|sueltos?|al aire)",
            r"electric shock",
            r"electrocut",
            r"sparks?",
            r"exposed wires?",
            r"live wires?",
            r"short circuit",
        ),
        critical=True,
    ),
    Signal(
        "safety: injury",
        0.8,
        _p(
            r"herid[oa]s?",
            r"lesion",
            r"hospital",
            r"urgencias",
            r"intoxica",
            r"me (he )?quemad",
            r"se (ha )?quemad",
            r"sangr",
            r"ambulancia",
            r"injur",
            r"hurt (my|me|him|her|them)",
            r"burn(ed|t) (my|his|her|their)",
            r"food poisoning",
            r"poisoned",
            r"emergency room",
            r"\ber\b",
            r"bleeding",
            r"choking",
            r"allergic reaction",
            r"reaccion alergica",
            r"alergeno",
            r"peligro de muerte",
            r"could have (died|killed)",
            r"casi (me )?mat",
            r"casi atropell",
            r"nearly (hit|killed|ran over|died)",
        ),
        critical=True,
    ),
    Signal(
        "vehicle defect",
        0.8,
        _p(
            r"(los )?frenos? (fall|no funciona|no responde)",
            r"sin frenos",
            r"brakes? (fail|failed|failing|stopped|gave out)",
            r"airbag",
            r"se (me )?(apag|par)o en"
            r" (la )?(autopista|autovia|carretera)",
            r"stalled on the (highway|motorway|freeway)",
            r"steering (failed|locked)",
            r"direccion se bloque",
            r"recall",
            r"llamada a revision",
            r"acelerador .{0,25}(se queda|bloquead|engancha)",
            r"accelerat(or|ion) .{0,30}(stick|stuck)",
        ),
        critical=True,
        negatable=False,
    ),
    Signal(
        "fraud: account or payment",
        0.72,
        _p(
            r"fraude",
            r"estafa",
            r"me han hackeado",
            r"hackearon",
            r"hackeada",
            r"suplantacion",
            r"(cargos?|compras?|transacciones|movimientos|pagos?) "
            r"(no autorizad|desconocid|que no (he|hemos) hecho|fraudulent)",
            r"phishing",
            r"me han robado",
            r"robo de (identidad|datos)",
            r"vaciado la cuenta",
            r"fraud",
            r"scam",
            r"hacked",
            r"unauthori[sz]ed (charge|transaction|access|payment)",
            r"(charges?|transactions?|payments?|purchases?) i (didn.?t|did not|never) make",
            r"identity theft",
            r"stolen",
            r"drained my",
        ),
        critical=True,
    ),
    Signal(
        "data leak",
        0.75,
        _p(
            r"filtracion de datos",
            r"han filtrado",
            r"datos (personales )?(expuestos|filtrados)",
            r"brecha de (datos|seguridad)",
            r"data (breach|leak)",
            r"leaked (my|our|customer)",
            r"exposed (my|our|customer) (data|details|information)",
            r"veo los datos de otro",
            r"someone else.?s (account|data|details)",
            r"(expuso|expuesto|expuestos|expone|dejo expuestos) (los )?(datos|registros)",
            r"(records|data|details|information) (were |was )?(exposed|leaked)",
            r"unsecured (server|database)",
            r"servidor sin (contrasena|proteccion)",
        ),
        critical=True,
    ),
    Signal(
        "legal: lawyer or regulator",
        0.55,
        _p(
            r"abogad",
            r"denuncia",
            r"demanda(r|re|remos)?\b",
            r"juzgado",
            r"tribunal",
            r"consumo",
            r"\bfacua\b",
            r"\bocu\b",
            r"cnmc",
            r"banco de espana",
            r"hoja de reclamaciones",
            r"lawyer",
            r"attorney",
            r"su(e|ing) (you|them)",
            r"lawsuit",
            r"legal action",
            r"small claims",
            r"\bfcc\b",
            r"\bftc\b",
            r"\bofcom\b",
            r"\bcfpb\b",
            r"ombudsman",
            r"trading standards",
            r"regulator",
            r"better business bureau",
            r"\bbbb\b",
        ),
    ),
    Signal(
        "outage: many affected",
        0.5,
        _p(
            r"caida (general|masiva|del servicio)",
            r"todo el (barrio|pueblo|edificio|mundo)",
            r"toda la (ciudad|zona|calle)",
            r"sin (servicio|internet|luz|cobertura|red) (desde|en toda|"
            r"todo|toda|hace)",
            r"apagon",
            r"nadie (tiene|puede)",
            r"a todos (nos|los)",
            r"no soy el unico",
            r"somos muchos",
            r"whole (city|town|neighbou?rhood|area|building)",
            r"(massive|major|widespread|nationwide) outage",
            r"outage",
            r"everyone (is|here|in)",
            r"not the only one",
            r"is (it )?down for everyone",
            r"all over the (city|country)",
            r"(down|offline) (since|for) (hours|days|\d+)",
            r"power cut",
            r"blackout",
        ),
    ),
    Signal(
        "churn threat",
        0.35,
        _p(
            r"me (doy de baja|voy a (ir|cambiar|pasar))",
            r"darme de baja",
            r"cancelar (el|mi) "
            r"(contrato|cuenta|suscripcion|linea)",
            r"me paso a",
            r"me cambio a",
            r"portabilidad",
            r"nunca mas",
            r"ultima vez que",
            r"switching to",
            r"cancel(l?ing)? my",
            r"i.?m leaving",
            r"i.?ll (leave|switch|go to)",
            r"never (again|buying|using|flying|ordering)",
            r"clos(e|ing) my account",
            r"cancelo (la|mi) (cuenta|linea|contrato)",
            r"me cambio de (banco|compania|operador|aseguradora)",
            r"last time i",
            r"taking my (money|business)",
        ),
    ),
    Signal(
        "press or viral attention",
        0.45,
        _p(
            r"periodist",
            r"prensa",
            r"medios",
            r"television",
            r"telediario",
            r"viral",
            r"compartid[oa] (mil|miles)",
            r"journalist",
            r"reporter",
            r"the press",
            r"news (story|"
            r"outlet)",
            r"going viral",
            r"went viral",
            r"thread blew up",
            r"\bmillones de (visitas|"
            r"views)",
            r"millions of views",
            r"retweet (this|if)",
            r"rt (this|if|para)",
            r"que se entere todo el mundo",
            r"spread the word",
            r"difundid",
            r"difunde",
        ),
    ),
)

_REPEAT = _p(
    r"(tercera|cuarta|quinta|enesima|\d+a?) (vez|llamada)",
    r"(llevo|van) (\d+|dos|tres|cuatro|"
    r"varias|muchas) (llamadas|semanas|dias|meses|veces)",
    r"nadie (me )?(responde|contesta|llama)",
    r"sin respuesta",
    r"no (me )?contestan",
    r"sigo esperando",
    r"otra vez",
    r"(third|fourth|fifth|\d+(st|nd|rd|th)) (time|call|email)",
    r"(still|been) waiting",
    r"no (one|response|reply|answer)",
    r"nobody (answers|replies|responds)",
    r"(called|emailed|messaged|contacted) (you )?(\d+|two|three|four|five|several|many) times",
    r"again and again",
    r"(weeks|days|months) (now|later)",
)
_NEGATED = re.compile(
    r"\b(no|not|sin|never|nunca|ningun[ao]?|zero|cero|without|(is|was|are|were|did|do)n'?t)"
    r"\s+(\w+\s+){0,2}$"
)
# Words that turn an alarming term into prevention or drills ("simulacro de incendio",
# "teaching customers to spot scams"): the hit is ignored when one appears just before it.
_BENIGN = re.compile(
    r"\b(simulacro|drill|prevenir|prevent|detectar|spot|evitar|avoid|awareness|concienciar"
    r"|campana|campaign|tips?|consejos?)\b"
)


def _found(signal: Signal, folded: str) -> bool:
    """Whether ``signal`` has a hit that counts (the plain way: its own ``finditer``)."""
    return any(_counts(signal, folded, match) for match in signal.pattern.finditer(folded))


def _counts(signal: Signal, folded: str, match: re.Match[str]) -> bool:
    """Whether one hit counts: not after a prevention word, nor (where negatable) a negation."""
    before = folded[max(0, match.start() - 30) : match.start()]
    if _BENIGN.search(before):
        return False
    return not signal.negatable or not _NEGATED.search(before)


# Finding hits fast. Every pattern is ``\b(alt|alt|...)`` with IGNORECASE; running each over each
# text tries every alternative at every position. Instead one pass over the text's word starts
# looks up the literal each alternative must begin with ("trigger"), and each pattern is run
# (``.match`` at that position) only where one of its triggers occurs. Alternatives with no
# literal start (a leading optional group, ``\d``) go into one residual pattern searched whole.
# A match of a pattern starts at a word start (``\b`` then a word character), so its trigger is
# there: the positions tried include every position where the pattern matches, and walking them
# in order reproduces ``finditer`` exactly. On folded text, IGNORECASE differs from plain
# equality only for the dotless "ı" (matches "i"), which the trigger lookup maps to "i".
_META = set("()[]{}.?*+|^$\\")


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of ``\b(a|b|...)``."""
    body = pattern[len("\\b(") : -1]
    found, depth, start, i = [], 0, 0, 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            i += 2
            continue
        depth += (char == "(") - (char == ")")
        if char == "|" and depth == 0:
            found.append(body[start:i])
            start = i + 1
        i += 1
    found.append(body[start:])
    return found


def _triggers(alternative: str) -> list[str]:
    """Literals one of which every match of ``alternative`` starts with ([] when none is sure)."""
    if alternative.startswith("\\b"):
        alternative = alternative[2:]
    if alternative.startswith("("):
        depth, end = 0, 0
        for at, char in enumerate(alternative):
            depth += (char == "(") - (char == ")")
            if depth == 0:
                end = at
                break
        if end + 1 < len(alternative) and alternative[end + 1] in "?*{":
            return []  # optional group: the match may start after it
        inner = [_triggers(a) for a in _alternatives("\\b" + alternative[: end + 1])]
        return [t for ts in inner for t in ts] if all(inner) else []
    literal = ""
    for i, char in enumerate(alternative):
        if char in _META:
            if char in "?*{" and literal:
                literal = literal[:-1]  # the last character is optional
            break
        if i + 1 < len(alternative) and alternative[i + 1] in "?*{":
            break
        literal += char
    return [literal] if literal and re.match(r"\w", literal) and literal == literal.lower() else []


_WORD_START = re.compile(r"\b\w\w?")  # a word's first one or two characters


@dataclass(frozen=True, slots=True)
class _Finder:
    """Where each of ``patterns`` may match: trigger lookup plus one residual pattern."""

    patterns: tuple[re.Pattern[str], ...]
    by_two: dict[str, tuple[tuple[str, int], ...]]  # triggers by their first two characters
    by_one: dict[str, tuple[tuple[str, int], ...]]  # one-character triggers
    residual: re.Pattern[str] | None  # compiled without IGNORECASE: run on the mapped text

    @classmethod
    def build(cls, patterns: tuple[re.Pattern[str], ...]) -> _Finder:
        by_two: dict[str, list[tuple[str, int]]] = {}
        by_one: dict[str, list[tuple[str, int]]] = {}
        residual: list[str] = []
        for index, pattern in enumerate(patterns):
            for alternative in _alternatives(pattern.pattern):
                triggers = _triggers(alternative)
                if not triggers:
                    residual.append(alternative)
                for trigger in triggers:
                    # keyed as the text's words are: their first one or two word characters
                    key = _WORD_START.match(trigger)
                    assert key is not None  # _triggers keeps word-led literals only
                    table = by_one if len(trigger) == 1 else by_two
                    table.setdefault(key.group(), []).append((trigger, index))
        return cls(
            patterns=patterns,
            by_two={k: tuple(v) for k, v in by_two.items()},
            by_one={k: tuple(v) for k, v in by_one.items()},
            residual=re.compile(r"\b(?=" + "|".join(residual) + ")") if residual else None,
        )

    def matches(self, folded: str) -> list[list[re.Match[str]]]:
        """Per pattern, its non-overlapping matches in ``folded``, as ``finditer`` gives them."""
        plain = folded.replace("ı", "i") if "ı" in folded else folded
        starts: dict[int, set[int]] = {}
        by_two, by_one = self.by_two, self.by_one
        for word in _WORD_START.finditer(plain):
            key = word.group()
            candidates = by_two.get(key, ())
            if key[0] in by_one:
                candidates += by_one[key[0]]
            if candidates:
                at = word.start()
                for trigger, index in candidates:
                    if plain.startswith(trigger, at):
                        starts.setdefault(index, set()).add(at)
        if self.residual is not None:
            for hit in self.residual.finditer(plain):
                for index in range(len(self.patterns)):
                    starts.setdefault(index, set()).add(hit.start())
        found: list[list[re.Match[str]]] = [[] for _ in self.patterns]
        for index, positions in starts.items():
            pattern, hits, end = self.patterns[index], found[index], 0
            for at in sorted(positions):
                if at < end:
                    continue
                match = pattern.match(folded, at)
                if match:
                    hits.append(match)
                    end = match.end()
        return found


_FINDER = _Finder.build((*(signal.pattern for signal in SIGNALS), _REPEAT))


def signals_in(folded: str) -> tuple[list[Signal], bool]:
    """The signals found in folded text (as ``_found`` decides) and whether ``_REPEAT`` is."""
    *per_signal, repeat = _FINDER.matches(folded)
    found = [
        signal
        for signal, hits in zip(SIGNALS, per_signal, strict=True)
        if any(_counts(signal, folded, hit) for hit in hits)
    ]
    return found, bool(repeat)


def _thousands(value: int) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M".replace(".0M", "M")
    if value >= 1000:
        return f"{round(value / 1000)}k"
    return str(value)


def _noisy_or(evidence: list[float]) -> float:
    remaining = 1.0
    for weight in evidence:
        remaining *= 1.0 - max(0.0, min(weight, 0.99))
    return 1.0 - remaining


def level_of(score: float) -> int:
    return sum(score >= cut for cut in LEVEL_CUTS)


def assess(
    item: TextItem,
    view: ModelView,
    *,
    folded: str | None = None,
    signals: tuple[list[Signal], bool] | None = None,
    risk: RiskView | None = None,
    lexicons: bool = True,
) -> Urgency:
    """Score, level and reasons for one text.

    ``folded``: ``fold(item.text)`` and ``signals``: ``signals_in(folded)`` where already made.
    ``risk``: the risk head's view; its found categories set the level their band says (never
    lowered by the rest) and lead the reasons as ``risk: <category key>``. ``lexicons=False``
    leaves the lexicon signals out of the score (the risk head reads them as features); they
    are still named as reasons of a text the head flags.
    """
    if folded is None:
        folded = fold(item.text)
    found, says_repeat = signals if signals is not None else signals_in(folded)
    text: list[float] = []  # evidence read from the text itself
    context: list[float] = []  # what the text cannot say: earlier contacts, reach, engagement
    reasons: list[str] = []
    negative_context = view.complaint >= view.threshold * 0.6 or view.negative >= 0.4
    # safety-class words are rarely used lightly; only clearly non-negative text discounts them
    critical_context = negative_context or view.negative >= 0.25

    model_weight = view.complaint * (0.25 + 0.35 * view.severity) + 0.1 * view.negative
    if model_weight > 0:
        text.append(min(model_weight, 0.6))
    if view.complaint >= view.threshold:
        severity = "severe " if view.severity >= 0.5 else ""
        reasons.append(f"model: {severity}complaint ({view.complaint:.2f})")

    critical_hit = False
    for signal in found if lexicons else ():
        hit_context = critical_context if signal.critical else negative_context
        text.append(signal.weight if hit_context else signal.weight * 0.5)
        reasons.append(signal.reason)
        critical_hit = critical_hit or (signal.critical and hit_context)
    if not lexicons and risk is not None and risk.level >= 2:
        reasons.extend(signal.reason for signal in found)  # the words that back the flag

    repeated = item.prior_contacts
    if repeated > 0:
        context.append(min(0.15 * repeated, 0.45))
        reasons.append(f"repeated contact: {repeated} earlier unanswered")
    elif says_repeat:
        text.append(0.25)
        reasons.append("repeated contact: says no answer")

    if item.author_followers and item.author_followers >= 5000:
        reach = min(0.12 * math.log10(item.author_followers / 1000), 0.45)
        context.append(reach * (1.0 if negative_context else 0.4))
        reasons.append(f"reach: {_thousands(item.author_followers)} followers")

    engagement = item.likes + 2 * item.shares + item.replies
    if engagement >= 50:
        weight = min(0.1 * math.log10(engagement / 10), 0.35)
        context.append(weight * (1.0 if negative_context else 0.4))
        reasons.append(f"engagement: {_thousands(engagement)} interactions")

    if risk is None:
        score = _noisy_or(text + context)
    else:
        # the head read the whole text: the text's own evidence ranks within "not flagged"
        # and only the head flags; context it could not see raises either
        read = max(risk.score, min(_noisy_or(text), LEVEL_CUTS[1] * 0.98))
        score = _noisy_or([read, *context])
        reasons = [f"risk: {key}" for key, _ in risk.found] + reasons
    level = level_of(score)
    if critical_hit:
        level = max(level, 2)
    if risk is not None:
        level = max(level, risk.level)
    return Urgency(score=round(score, 6), level=level, reasons=tuple(reasons))
