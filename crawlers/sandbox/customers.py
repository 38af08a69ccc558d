"""Simulated customers: what an author answers, in their language, to the brand's private messages.

First private message -> the details (an account number and what is wrong); a further message ->
thanks, it works now; the satisfaction question -> a score. Choices are seeded, so a replay of the
same post log always produces the same answers.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

_ES_WORDS = frozenset(
    [
        "el",
        "la",
        "los",
        "las",
        "de",
        "del",
        "que",
        "y",
        "en",
        "un",
        "una",
        "por",
        "para",
        "con",
        "no",
        "es",
        "nos",
        "te",
        "tu",
        "sus",
        "lo",
        "al",
        "qué",
        "cómo",
        "hola",
        "gracias",
        "somos",
        "equipo",
        "ayudarte",
        "sentimos",
        "cuentas",
        "número",
        "cliente",
        "valoras",
        "atención",
    ]
)
_EN_WORDS = frozenset(
    [
        "the",
        "and",
        "to",
        "of",
        "you",
        "your",
        "we",
        "is",
        "are",
        "this",
        "it",
        "in",
        "for",
        "with",
        "on",
        "our",
        "us",
        "hi",
        "thanks",
        "team",
        "could",
        "please",
        "sorry",
        "share",
        "account",
        "number",
        "what",
        "happened",
        "rate",
        "help",
        "received",
    ]
)
_WORD = re.compile(r"[a-záéíóúñü]+")
_SCALE = re.compile(r"\b1\s*(?:al|a|to|-|–|/)\s*5\b|\b(?:1|one)\s*(?:to)\s*(?:5|five)\b", re.I)


def guess_lang(text: str, default: str = "es") -> str:
    """A small Spanish/English guess for texts the brand wrote, not a general detector."""
    lowered = text.lower()
    words = _WORD.findall(lowered)
    spanish = sum(w in _ES_WORDS for w in words) + 2 * sum(ch in "ñ¿¡áéíóú" for ch in lowered)
    english = sum(w in _EN_WORDS for w in words)
    if spanish == english:
        return default
    return "es" if spanish > english else "en"


def is_csat(text: str, templates: Iterable[str] = ()) -> bool:
    """Whether the brand's message is the satisfaction question (a template, or "1 to 5")."""
    for template in templates:
        pattern = ".*".join(re.escape(part) for part in re.split(r"\{\w+\}", template.strip()))
        if pattern and re.fullmatch(pattern, text.strip(), flags=re.S | re.I):
            return True
    return bool(_SCALE.search(text)) and "?" in text


_DETAILS = {
    "es": {
        "outage": "Estoy sin conexión desde {when} y {device} tiene la luz roja parpadeando.",
        "billing": "En la última factura hay un cargo de {amount} € que no reconozco.",
        "speed": "Por cable no paso de {speed} megas y por wifi es peor.",
        "wifi": "El wifi se corta cada poco, sobre todo por la noche.",
        "router": "El router se reinicia solo varias veces al día.",
        "fraud": "Alguien pidió un duplicado de mi SIM y me quedé sin línea. Ya lo he denunciado.",
        "data_leak": "Me llegó la factura de otra persona; no la he reenviado a nadie.",
        "safety": "El router olía a quemado y salió humo. Ya está desenchufado.",
        "legal": "Llevo meses reclamando un cobro de una línea que di de baja.",
        "churn": "Si no se arregla esta semana pido la portabilidad.",
        "porting": "Pedí la portabilidad hace días y sigo sin la línea.",
        "tv": "El decodificador no carga los canales desde la actualización.",
        "": "Os cuento: {generic}",
    },
    "en": {
        "outage": "I've had no connection since {when} and {device} has a blinking red light.",
        "billing": "There's a charge of {amount} € on the last bill I don't recognise.",
        "speed": "On cable I can't get more than {speed} Mb, wifi is worse.",
        "wifi": "The wifi keeps dropping, mostly in the evening.",
        "router": "The router restarts by itself several times a day.",
        "fraud": "Someone got a duplicate of my SIM and my line went dead. I've reported it.",
        "data_leak": "I received someone else's bill; I haven't shared it with anyone.",
        "safety": "The router smelled of burning and smoked. It's unplugged now.",
        "legal": "I've been disputing a charge for a cancelled line for months.",
        "churn": "If it isn't fixed this week I'm porting out.",
        "porting": "I asked for the number port days ago and still have no line.",
        "tv": "The TV box won't load channels since the update.",
        "": "Here's what's going on: {generic}",
    },
}
_FILL = {
    "es": {
        "when": ["ayer por la tarde", "el lunes", "esta mañana", "hace tres días"],
        "device": ["el router", "la ONT"],
        "generic": [
            "la línea va y viene desde hace días.",
            "no consigo que nadie me dé una solución.",
            "me cobran algo que no contraté.",
        ],
    },
    "en": {
        "when": ["yesterday afternoon", "Monday", "this morning", "three days ago"],
        "device": ["the router", "the ONT box"],
        "generic": [
            "the line keeps coming and going.",
            "nobody has given me a fix yet.",
            "I'm being charged for something I never ordered.",
        ],
    },
}
_OPENERS = {
    "es": ["Hola.", "Buenas.", "Hola, gracias por escribir.", ""],
    "en": ["Hi.", "Hello.", "Hi, thanks for getting in touch.", ""],
}
_ACCOUNT = {"es": "Mi número de cliente es {account}.", "en": "My account number is {account}."}
_THANKS = {
    "es": [
        "Ya funciona, ¡gracias!",
        "Ya funciona todo, gracias por la rapidez.",
        "Confirmado: ya funciona. Muchas gracias.",
        "Ya funciona, gracias. A ver si dura 😅",
    ],
    "en": [
        "All working now, thanks!",
        "All working now, thanks for the quick help.",
        "Confirmed, all working now. Many thanks.",
        "All working now, thanks. Fingers crossed it stays that way 😅",
    ],
}
_CSAT = {
    "es": ["5", "un 4, muy rápidos", "3/5", "Un 5, muy amables", "4", "5, de diez"],
    "en": ["5", "4 - quick and friendly", "3/5", "5, great service", "4"],
}


def customer_reply(
    *, stage: int, csat: bool, lang: str, topic: str | None, seed: int, post_id: str
) -> str | None:
    """The customer's answer to one private message, or None when they would not write back.

    ``stage`` counts the brand's earlier (non-survey) private messages in this conversation.
    """
    rng = random.Random(f"{seed}:{post_id}")
    lang = lang if lang in _THANKS else "en"
    if csat:
        return str(rng.choice(_CSAT[lang]))
    if stage == 0:
        details = _DETAILS[lang].get(topic or "", _DETAILS[lang][""])
        fills = {key: str(rng.choice(values)) for key, values in _FILL[lang].items()}
        fills["amount"] = rng.choice(
            ["37,90", "60", "112,40"] if lang == "es" else ["37.90", "60", "112.40"]
        )
        fills["speed"] = rng.choice(["12", "40", "85"])
        account = _ACCOUNT[lang].format(account=rng.randrange(10_000_000, 99_999_999))
        opener = rng.choice(_OPENERS[lang])
        return " ".join(p for p in (opener, account, details.format(**fills)) if p)
    if stage == 1:
        return str(rng.choice(_THANKS[lang]))
    return None
