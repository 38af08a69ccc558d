"""Simulated customers: what an author answers, in their language, to the brand's private messages.

First private message -> the details (an account number and what is wrong); a further message ->
thanks, it works now; the satisfaction question -> a score. Invited to WhatsApp or e-mail, they
write there first, with the case reference. Choices are seeded, so a replay of the same post log
always produces the same answers.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
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


# -- private channels: WhatsApp and e-mail -----------------------------------------------------
# A customer invited to WhatsApp (a click-to-chat link) or e-mail ("[C-000123]" in the subject)
# writes there first, with the case reference and what is wrong; later answers follow the table
# above. Numbers and addresses are made up, stable per author, on reserved or unused ranges.
_WHERE = {
    "es": {"facebook": "Facebook", "instagram": "Instagram", "x": "X", "reddit": "Reddit",
           "youtube": "YouTube", "google_reviews": "Google", "forum": "el foro"},
    "en": {"facebook": "Facebook", "instagram": "Instagram", "x": "X", "reddit": "Reddit",
           "youtube": "YouTube", "google_reviews": "Google", "forum": "the forum"},
}  # fmt: skip
_OPENING = {
    "es": "Hola, os escribo por mi comentario en {where}. {problem}",
    "en": "Hi, I'm writing about my comment on {where}. {problem}",
}
_MAIL = {
    "es": "Hola:\n\nOs escribo por mi comentario en {where}. {problem}\n\nUn saludo,\n{name}",
    "en": "Hello,\n\nI'm writing about my comment on {where}. {problem}\n\nBest regards,\n{name}",
}
_SUBJECT = {"es": "Mi caso [{case}]", "en": "My case [{case}]"}
_REPLY_SUBJECT = {"es": "Re: [{case}] Tu caso", "en": "Re: [{case}] Your case"}
_ALREADY = {
    "es": "Lo demás, como os he contado arriba.",
    "en": "The rest is as I said above.",
}


def _problem(lang: str, topic: str | None, rng: random.Random) -> str:
    details = _DETAILS[lang].get(topic or "", _DETAILS[lang][""])
    fills = {key: str(rng.choice(values)) for key, values in _FILL[lang].items()}
    fills["amount"] = rng.choice(
        ["37,90", "60", "112,40"] if lang == "es" else ["37.90", "60", "112.40"]
    )
    fills["speed"] = rng.choice(["12", "40", "85"])
    return details.format(**fills)


def first_message(
    channel: str,
    *,
    prefill: str,
    lang: str,
    topic: str | None,
    platform: str,
    name: str,
    seed: int,
    post_id: str,
) -> str:
    """What a customer writes when they take up the invitation to ``channel``: the WhatsApp
    prefill ("Caso C-000123") and their problem, or an e-mail saying the same."""
    rng = random.Random(f"{seed}:{post_id}:{channel}")
    lang = lang if lang in _OPENING else "en"
    where = _WHERE[lang].get(platform, platform)
    problem = _problem(lang, topic, rng)
    if channel == "email":
        return _MAIL[lang].format(where=where, problem=problem, name=name)
    return f"{prefill}. " + _OPENING[lang].format(where=where, problem=problem)


def email_subject(case: str, lang: str, *, reply: bool) -> str:
    """The subject of the customer's e-mail: their first one, or a reply to ours."""
    lang = lang if lang in _SUBJECT else "en"
    return (_REPLY_SUBJECT if reply else _SUBJECT)[lang].format(case=case)


def phone_number(platform: str, handle: str, lang: str) -> str:
    """A made-up mobile number in WhatsApp's form (digits only, with the country code): Spanish
    for Spanish speakers (+34 6…), British for English speakers (+44 7…); the same every time."""
    digest = int(hashlib.sha256(f"{platform}:{handle}".encode()).hexdigest(), 16)
    if lang == "es":
        return f"346{digest % 10**8:08d}"
    return f"447{digest % 10**9:09d}"


def email_address(platform: str, handle: str, name: str | None, lang: str) -> str:
    """A made-up address on a reserved domain (RFC 2606 ``.example``); the same every time."""
    base = _ascii(name or handle) or "cliente"
    digest = int(hashlib.sha256(f"{platform}:{handle}".encode()).hexdigest(), 16)
    domain = "correo.example" if lang == "es" else "mail.example"
    return f"{base}{digest % 100:02d}@{domain}"


def with_account(text: str, lang: str, *, seed: int, post_id: str) -> str:
    """The answer to the first question of someone who already said what is wrong: the account
    number and a pointer to what they wrote."""
    rng = random.Random(f"{seed}:{post_id}")
    lang = lang if lang in _ACCOUNT else "en"
    account = _ACCOUNT[lang].format(account=rng.randrange(10_000_000, 99_999_999))
    return " ".join(p for p in (text, account, _ALREADY[lang]) if p)


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", ".", plain).strip(".")
