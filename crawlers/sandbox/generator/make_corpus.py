"""Write ``sandbox_corpus.jsonl.gz``, the demo corpus the sandbox replays (deterministic, seeded).

Run ``python -m crawlers.sandbox.generator.make_corpus`` after changing a template; the same
seed always gives byte-identical output. Every text comes from the hand-written templates and
fillers in ``corpus_text``.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import re
import string
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawlers.sandbox.generator.corpus_text import (
    CLOSERS,
    COMPLAINTS,
    CONTEXT,
    NEWS,
    OFFTOPIC,
    OTHER,
    PRAISE,
    QUESTIONS,
    REPLIES,
    REVIEWS,
    SLOTS,
    SOCIAL,
    SPAM,
    SPIKES,
    STRONG_CLOSERS,
    SUGGESTIONS,
    TITLES,
    Template,
)

SEED = 1407
DAYS = 14
BASE_ITEMS = 1720  # top-level posts and their replies outside the two incident spikes
OUT = Path(__file__).resolve().parent.parent / "sandbox_corpus.jsonl.gz"
BASE_URL = "https://sandbox.escucha.local"

PLATFORM_WEIGHTS = {
    "x": 0.46,
    "reddit": 0.12,
    "youtube": 0.12,
    "google_reviews": 0.13,
    "forum": 0.13,
    "news": 0.04,
}
BRAND_WEIGHTS = {"Orbita": 0.64, "Celera": 0.22, "Ondanet": 0.14}
CATEGORY_WEIGHTS = {
    "complaint": 0.40,
    "praise": 0.14,
    "question": 0.14,
    "suggestion": 0.07,
    "spam": 0.06,
    "offtopic": 0.07,
    "other": 0.12,
}
# Share of each urgency level among complaints (level 0 = a grumble that needs nothing).
COMPLAINT_LEVELS = {0: 0.08, 1: 0.52, 2: 0.28, 3: 0.12}
HANDLES = {
    "Orbita": ["@orbita", "@orbita_ayuda", "@orbita_ayuda", "@Orbita"],
    "Celera": ["@celera", "@Celera_es", "@celera"],
    "Ondanet": ["@ondanet", "@Ondanet"],
}
SPELLINGS = {
    "Orbita": ["Orbita", "Orbita", "Órbita", "ORBITA", "orbita"],
    "Celera": ["Celera", "Celera", "CELERA", "celera"],
    "Ondanet": ["Ondanet", "Ondanet", "OndaNet", "ondanet"],
}
# Hour-of-day weights (local time): quiet nights, a morning peak and an evening peak.
HOURLY = [
    0.5, 0.3, 0.2, 0.15, 0.15, 0.25, 0.6, 1.2, 2.0, 2.6, 2.8, 2.7,
    2.5, 2.4, 2.6, 2.4, 2.3, 2.4, 2.7, 3.0, 3.2, 3.0, 2.2, 1.2,
]  # fmt: skip
# Facebook and Instagram: comments (and replies in their threads) under the brands' own posts,
# drawn by a second generator after everything else, so the items above stay byte-identical.
SOCIAL_SEED_OFFSET = 1
SOCIAL_COMMENTS = 70  # top-level comments; replies come on top (about 5% of the corpus in all)
SOCIAL_PLATFORMS = {"facebook": 0.6, "instagram": 0.4}
SOCIAL_CATEGORIES = {"complaint": 0.5, "praise": 0.15, "question": 0.2, "suggestion": 0.05,
                     "other": 0.1}  # fmt: skip
BRAND_PAGES = {  # made-up Facebook page id and the URL slug of each brand's page and account
    "Orbita": ("104729384756102", "orbita"),
    "Celera": ("100284756193847", "celera"),
    "Ondanet": ("101938475610293", "ondanet"),
}
SPIKE_PLANS = [
    # (name, brand, start day, start hour, items, share Spanish)
    ("valencia_fibre", "Orbita", 4, 19.0, 125, 0.8),
    ("madrid_mobile", "Orbita", 10, 8.5, 165, 0.75),
]


@dataclass
class Author:
    """One made-up person (or outlet) posting on one platform."""

    handle: str
    name: str
    lang: str
    followers: int | None
    complained: bool = False
    id: str | None = None  # Facebook/Instagram: the page-scoped id a private reply answers


@dataclass
class Item:
    """One corpus line before it is written."""

    id: str
    platform: str
    kind: str
    text: str
    author: Author
    offset_s: int
    lang: str
    expected: dict[str, Any]
    title: str | None = None
    rating: int | None = None
    parent_id: str | None = None
    thread_id: str | None = None
    url: str = ""
    likes: int = 0
    replies: int = 0
    shares: int = 0
    children: list[Item] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "platform": self.platform,
            "kind": self.kind,
            "text": self.text,
            "author": self.author.handle,
            **({"author_id": self.author.id} if self.author.id else {}),
            "author_name": self.author.name,
            "author_followers": self.author.followers,
            "offset_s": self.offset_s,
            "lang": self.lang,
        }
        if self.title:
            data["title"] = self.title
        if self.rating is not None:
            data["rating"] = self.rating
        if self.parent_id:
            data["parent_id"] = self.parent_id
        if self.thread_id:
            data["thread_id"] = self.thread_id
        data.update(
            url=self.url,
            likes=self.likes,
            replies=self.replies,
            shares=self.shares,
            expected=self.expected,
        )
        return data


class Generator:
    """Draws authors, texts, times and ids from one seeded random generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.ids: set[str] = set()
        self.texts: set[str] = set()
        self.authors: dict[tuple[str, str], list[Author]] = {}
        self.handles: set[str] = set()
        self.items: list[Item] = []

    # -- pieces ---------------------------------------------------------------------------
    def pick(self, options: Sequence[Any]) -> Any:
        return options[self.rng.randrange(len(options))]

    def weighted(self, weights: dict[Any, float]) -> Any:
        keys = list(weights)
        return self.rng.choices(keys, weights=[weights[k] for k in keys])[0]

    def unique_id(self, make: Callable[[], str]) -> str:
        for _ in range(1000):
            candidate = make()
            if candidate not in self.ids:
                self.ids.add(candidate)
                return candidate
        raise RuntimeError("could not draw a unique id")

    def native_id(self, platform: str, reply: bool = False) -> str:
        rng = self.rng
        alnum = string.ascii_letters + string.digits
        b36 = string.ascii_lowercase + string.digits

        def make() -> str:
            if platform == "x":
                return str(1_790_000_000_000_000_000 + rng.randrange(10**16))
            if platform == "reddit":
                return ("t1_" if reply else "t3_") + "".join(rng.choices(b36, k=7 if reply else 6))
            if platform == "youtube":
                return "Ugz" + "".join(rng.choices(alnum, k=19)) + "4AaABAg"
            if platform == "google_reviews":
                return "ChZDSUhNMG9nS0VJ" + "".join(rng.choices(alnum, k=14))
            if platform == "forum":
                return f"p{rng.randrange(100_000, 999_999)}"
            return "n" + "".join(rng.choices(b36, k=8))

        return self.unique_id(make)

    def author(self, platform: str, lang: str, *, reuse: float = 0.3) -> Author:
        pool = self.authors.setdefault((platform, lang), [])
        if pool and self.rng.random() < reuse:
            chosen: Author = self.pick(pool)
            return chosen
        first = self.pick(SLOTS[lang]["first_name"])
        last = self.pick(SLOTS[lang]["last_name"])
        handle = self.handle_for(platform, first, last)
        followers: int | None
        if platform == "x":
            followers = int(math.exp(self.rng.gauss(5.6, 1.5)))
            if self.rng.random() < 0.025:
                followers = self.rng.randrange(40_000, 400_000)
        elif platform == "youtube":
            followers = int(math.exp(self.rng.gauss(2.5, 1.6)))
        elif platform == "reddit":
            followers = int(math.exp(self.rng.gauss(3.0, 1.3)))
        else:
            followers = None
        name = f"{first} {last}" if platform in {"x", "youtube", "google_reviews"} else handle
        if platform == "google_reviews" and self.rng.random() < 0.5:
            name = f"{first} {last[0]}."
        author = Author(handle=handle, name=name, lang=lang, followers=followers)
        pool.append(author)
        return author

    def handle_for(self, platform: str, first: str, last: str) -> str:
        rng = self.rng
        base = unaccent(first).lower()
        surname = unaccent(last).lower().replace(" ", "")
        for _ in range(100):
            style = rng.randrange(6)
            if style == 0:
                handle = f"{base}_{surname}"
            elif style == 1:
                handle = f"{base}{surname[:3]}{rng.randrange(10, 99)}"
            elif style == 2:
                handle = f"{base[0]}{surname}"
            elif style == 3:
                handle = f"{self.pick(SLOTS['misc']['nick'])}_{base}"
            elif style == 4:
                handle = f"{base}.{surname}" if platform == "forum" else f"{base}{surname}"
            else:
                handle = f"{self.pick(SLOTS['misc']['nick'])}{rng.randrange(1, 999)}"
            if platform == "reddit" and rng.random() < 0.3:
                handle = f"{self.pick(SLOTS['misc']['reddit_nick'])}_{rng.randrange(100, 9999)}"
            if handle not in self.handles:
                self.handles.add(handle)
                return handle
        raise RuntimeError("could not draw a unique handle")

    def fill(self, text: str, lang: str, brand: str | None, values: dict[str, str]) -> str:
        def slot(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return values[name]
            if name == "brand":
                return str(self.pick(SPELLINGS[brand or "Orbita"]))
            if name == "handle":
                return str(self.pick(HANDLES[brand or "Orbita"]))
            if name == "comp":
                rivals = [b for b in BRAND_WEIGHTS if b != (brand or "Orbita")]
                values[name] = str(self.pick(rivals))
                return values[name]
            if name == "n":
                return str(self.rng.randrange(2, 9))
            if name == "ticket":
                return f"{self.pick(['INC', 'AV', 'REC'])}-{self.rng.randrange(100000, 999999)}"
            if name == "account":
                return str(self.rng.randrange(10_000_000, 99_999_999))
            if name == "spamcode":
                return "".join(self.rng.choices(string.ascii_letters + string.digits, k=7))
            options = SLOTS[lang].get(name) or SLOTS["misc"][name]
            values[name] = self.fill(str(self.pick(options)), lang, brand, values)
            return values[name]

        return re.sub(r"\{(\w+)\}", slot, text)

    def noisify(self, text: str, lang: str, platform: str, sentiment: str) -> str:
        rng = self.rng
        if platform in {"news", "google_reviews"}:
            return text
        roll = rng.random()
        if platform == "x" and roll < 0.12:
            text = text.lower()
        elif lang == "es" and roll < 0.22 and platform in {"x", "youtube", "reddit", "facebook"}:
            text = unaccent(text)
        if platform in {"x", "youtube", "instagram"} and rng.random() < 0.12:
            text = text.rstrip(".") + " " + self.pick(SLOTS["misc"]["emoji_" + sentiment])
        return text

    # -- times ----------------------------------------------------------------------------
    def base_offset(self) -> int:
        day = self.rng.randrange(DAYS)
        hour = self.rng.choices(range(24), weights=HOURLY)[0]
        weekend = day % 7 in (5, 6)
        if weekend and hour < 10 and self.rng.random() < 0.5:
            hour += 2  # people post later on weekends
        return day * 86400 + hour * 3600 + self.rng.randrange(3600)

    def reply_offset(self, parent: int) -> int:
        delay = int(math.exp(self.rng.gauss(7.5, 1.4)))  # median about half an hour
        return min(parent + 60 + delay, DAYS * 86400 - 1)

    # -- items ----------------------------------------------------------------------------
    def compose(
        self,
        platform: str,
        lang: str,
        brand: str | None,
        category: str,
        template: Template,
        values: dict[str, str] | None = None,
        *,
        reply: bool = False,
    ) -> tuple[str, str | None]:
        """Turn one template into a post text (and a title where the platform has one)."""
        values = dict(values or {})
        parts = [self.fill(template.text, lang, brand, values)]
        rng = self.rng
        wants_context = platform in {"reddit", "forum"} or (
            platform in {"youtube", "google_reviews"} and rng.random() < 0.35
        )
        if (
            category in {"complaint", "question", "praise", "suggestion"}
            and wants_context
            and not reply
        ):
            pool = CONTEXT[lang]["background"]
            if category == "complaint":
                pool = CONTEXT[lang]["forum" if platform == "forum" else "any"]
            for _ in range(1 if platform != "forum" else rng.randrange(1, 3)):
                extra = self.fill(self.pick(pool), lang, brand, values)
                if extra not in parts:
                    parts.insert(rng.randrange(1, len(parts) + 1), extra)
        closing = not reply and platform in {"x", "reddit", "forum"}
        if category == "complaint" and closing and rng.random() < 0.4:
            level = template.level
            closers = CLOSERS[lang] if level < 2 else CLOSERS[lang] + STRONG_CLOSERS[lang]
            parts.append(self.fill(self.pick(closers), lang, brand, values))
        text = " ".join(parts)
        if platform == "x" and brand and "@" not in text and rng.random() < 0.45:
            handle = self.pick(HANDLES[brand])
            text = f"{handle} {text}" if rng.random() < 0.6 else f"{text} {handle}"
        if platform == "x" and brand and rng.random() < 0.15 and category != "spam":
            text += " " + self.pick(SLOTS["misc"]["hashtag_" + (brand or "Orbita")])
        title = None
        if platform in {"reddit", "forum"}:
            title = self.fill(self.pick(TITLES[lang][category]), lang, brand, values)
        text = self.noisify(text, lang, platform, template.sentiment)
        if platform == "x" and len(text) > 280:
            text = text[:277].rsplit(" ", 1)[0] + "…"
        return text, title

    def expected(self, category: str, template: Template, brand: str | None) -> dict[str, Any]:
        intent = {
            "complaint": "complaint",
            "praise": "praise",
            "question": "question",
            "suggestion": "suggestion",
        }.get(category, "other")
        if category == "news":
            intent = "other"
        return {
            "category": category,
            "intent": intent,
            "complaint": category == "complaint",
            "sentiment": template.sentiment,
            "urgency_level": template.level,
            "signals": list(template.signals),
            "topic": template.topic,
            "brand": brand,
        }

    def choose_template(self, category: str, lang: str, platform: str) -> Template:
        if category == "complaint":
            level = self.weighted(COMPLAINT_LEVELS)
            if platform == "google_reviews" and self.rng.random() < 0.6:
                pool = [t for t in REVIEWS[lang] if t.sentiment == "negative"]
                return self.closest_level(pool, level)
            return self.closest_level(COMPLAINTS[lang], level)
        if category == "praise" and platform == "google_reviews" and self.rng.random() < 0.7:
            return self.pick([t for t in REVIEWS[lang] if t.sentiment == "positive"])  # type: ignore[no-any-return]
        if category == "other" and platform == "google_reviews":
            return self.pick([t for t in REVIEWS[lang] if t.sentiment == "neutral"])  # type: ignore[no-any-return]
        pools = {
            "praise": PRAISE,
            "question": QUESTIONS,
            "suggestion": SUGGESTIONS,
            "spam": SPAM,
            "offtopic": OFFTOPIC,
            "other": OTHER,
        }
        return self.pick(pools[category][lang])  # type: ignore[no-any-return]

    def closest_level(self, pool: Sequence[Template], level: int) -> Template:
        at_level = [t for t in pool if t.level == level]
        if not at_level:
            best = min(abs(t.level - level) for t in pool)
            at_level = [t for t in pool if abs(t.level - level) == best]
        return self.pick(at_level)  # type: ignore[no-any-return]

    def make_item(
        self,
        platform: str,
        lang: str,
        brand: str | None,
        category: str,
        template: Template,
        offset: int,
        *,
        parent: Item | None = None,
        author: Author | None = None,
        values: dict[str, str] | None = None,
    ) -> Item | None:
        if author is None:
            reuse = 0.3
            if category == "complaint" and "repeated_contact" in template.signals:
                earlier = [a for a in self.authors.get((platform, lang), []) if a.complained]
                if earlier:
                    author = self.pick(earlier)
            if author is None:
                author = self.author(platform, lang, reuse=reuse)
        for _ in range(6):
            text, title = self.compose(
                platform, lang, brand, category, template, values, reply=parent is not None
            )
            if text not in self.texts or category == "spam" or parent is not None:
                break
        else:
            return None
        self.texts.add(text)
        if parent is not None:
            title = None
        if category == "complaint":
            author.complained = True
        kind = {"news": "article", "google_reviews": "review"}.get(platform, "post")
        if parent is not None:
            kind = "comment"
        item = Item(
            id=self.native_id(platform, reply=parent is not None),
            platform=platform,
            kind=kind,
            text=text,
            author=author,
            offset_s=offset,
            lang=lang,
            expected=self.expected(category, template, brand),
            title=title,
        )
        if parent is not None:
            item.parent_id = parent.id
            item.thread_id = parent.thread_id or parent.id
            parent.children.append(item)
        if platform == "google_reviews":
            item.rating = rating_for(self.rng, template)
        self.engagement(item, template)
        self.items.append(item)
        return item

    def engagement(self, item: Item, template: Template) -> None:
        rng = self.rng
        boost = 1.0 + template.level * 0.8
        if item.author.followers:
            boost *= 1 + math.log10(1 + item.author.followers) / 3
        item.likes = int(math.exp(rng.gauss(1.0, 1.2)) * boost) if item.platform != "news" else 0
        if item.platform in {"x", "youtube"}:
            item.shares = int(item.likes * rng.random() * 0.4)
        if template.level == 3 and rng.random() < 0.3:
            item.likes *= rng.randrange(5, 30)
            item.shares = item.likes // 3

    def thread_replies(self, parent: Item, brand: str | None) -> None:
        rng = self.rng
        if parent.platform not in {"reddit", "forum", "youtube", "x"}:
            return
        mean = {"reddit": 2.2, "forum": 2.6, "youtube": 0.6, "x": 0.25}[parent.platform]
        if parent.expected["category"] in {"spam", "offtopic"}:
            mean /= 3
        count = min(int(rng.expovariate(1 / mean)) if mean else 0, 8)
        previous = parent
        offset = parent.offset_s
        for _ in range(count):
            lang = parent.lang if rng.random() < 0.92 else ("en" if parent.lang == "es" else "es")
            template = self.pick(REPLIES[lang])
            offset = self.reply_offset(offset)
            answered = previous if rng.random() < 0.3 else parent
            child = self.make_item(
                parent.platform, lang, brand, template.category, template, offset, parent=answered
            )
            if child is not None:
                previous = child
        parent.replies = len(parent.children) + (rng.randrange(3) if parent.platform == "x" else 0)

    def news_item(
        self, lang: str, brand: str | None, offset: int, template: Template
    ) -> Item | None:
        outlet = self.pick(SLOTS[lang]["outlet"])
        pool = self.authors.setdefault(("news", lang), [])
        author = next((a for a in pool if a.name == outlet), None)
        if author is None:
            handle = re.sub(r"[^a-z0-9]+", "_", unaccent(outlet).lower()).strip("_")
            author = Author(handle, outlet, lang, self.rng.randrange(20_000, 600_000))
            pool.append(author)
        item = self.make_item("news", lang, brand, "news", template, offset, author=author)
        if item is not None:
            headline, _, body = item.text.partition(" || ")
            item.title, item.text = headline, body
        return item


def rating_for(rng: random.Random, template: Template) -> int:
    if template.sentiment == "positive":
        return 5 if rng.random() < 0.7 else 4
    if template.sentiment == "neutral":
        return rng.choice([3, 3, 4, 2])
    return 1 if template.level >= 2 or rng.random() < 0.6 else 2


def unaccent(text: str) -> str:
    """The text as typed in a hurry: accents dropped, "ñ" kept, case untouched.

    Noise for generated posts and handles, not a matching rule (matching folds with
    ``pipeline.fold.fold``, which also drops the tilde and the case).
    """
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn" or ch == "\u0303")
    return unicodedata.normalize("NFC", kept)


def url_for(item: Item, threads: dict[str, Item], rng: random.Random) -> str:
    platform = item.platform
    if platform in SOCIAL_PLATFORMS:
        return item.url  # set by ``add_social``, which draws from its own generator
    if platform == "x":
        return f"{BASE_URL}/x/{item.author.handle}/status/{item.id}"
    if platform == "reddit":
        root = threads.get(item.thread_id or item.id, item)
        sub = "GoingToSpain" if root.lang == "en" else "askspain"
        if root.expected["topic"] in {"speed", "router", "outage"}:
            sub = "HomeNetworking" if root.lang == "en" else "Espana"
        link = f"{BASE_URL}/reddit/r/{sub}/comments/{root.id.removeprefix('t3_')}"
        return link if item is root else f"{link}/_/{item.id.removeprefix('t1_')}"
    if platform == "youtube":
        root = threads.get(item.thread_id or item.id, item)
        video = "".join(random.Random(root.id).choices(string.ascii_letters + string.digits, k=11))
        return f"{BASE_URL}/youtube/watch?v={video}&lc={item.id}"
    if platform == "google_reviews":
        place = "tienda-" + re.sub(
            r"[^a-z0-9]+", "-", unaccent(str(item.expected.get("brand") or "orbita")).lower()
        )
        return f"{BASE_URL}/google_reviews/place/{place}-{rng.randrange(1, 40)}/reviews/{item.id}"
    if platform == "forum":
        thread = (item.thread_id or item.id).removeprefix("p")
        return f"{BASE_URL}/forum/t/{thread}#{item.id}"
    slug = re.sub(r"[^a-z0-9]+", "-", unaccent((item.title or item.id).lower())).strip("-")
    return f"{BASE_URL}/news/{slug[:70]}-{item.id}"


def build(seed: int = SEED) -> list[dict[str, Any]]:
    """Generate the whole corpus, sorted by time, as JSON-ready dicts."""
    gen = Generator(seed)
    rng = gen.rng
    while len(gen.items) < BASE_ITEMS:
        platform = gen.weighted(PLATFORM_WEIGHTS)
        lang = "es" if rng.random() < (0.6 if platform == "news" else 0.5) else "en"
        offset = gen.base_offset()
        if platform == "news":
            template = gen.pick(NEWS[lang])
            brand = template.topic_brand or gen.weighted(BRAND_WEIGHTS)
            news_hour = rng.choice([7, 8, 9, 10, 12, 13, 17, 19])
            offset = (offset // 86400) * 86400 + news_hour * 3600 + rng.randrange(3600)
            gen.news_item(lang, brand, offset, template)
            continue
        category = gen.weighted(CATEGORY_WEIGHTS)
        brand = None if category == "offtopic" else gen.weighted(BRAND_WEIGHTS)
        if platform == "google_reviews" and category in {"offtopic", "question", "suggestion"}:
            category = rng.choice(["complaint", "praise", "other"])
            brand = gen.weighted(BRAND_WEIGHTS)
        template = gen.choose_template(category, lang, platform)
        item = gen.make_item(platform, lang, brand, category, template, offset)
        if item is not None:
            gen.thread_replies(item, brand)
    add_spikes(gen)
    add_unsafe_markup(gen)
    add_social(gen, seed + SOCIAL_SEED_OFFSET)
    items = sorted(gen.items, key=lambda i: (i.offset_s, i.id))
    threads = {i.id: i for i in items}
    for item in items:
        item.url = url_for(item, threads, rng)
        if item.children:
            item.replies = max(item.replies, len(item.children))
    return [item.as_json() for item in items]


def add_spikes(gen: Generator) -> None:
    """Two incidents: a fibre outage in Valencia (history) and a mobile outage in Madrid (live)."""
    rng = gen.rng
    for name, brand, day, hour, count, share_es in SPIKE_PLANS:
        start = int((day * 24 + hour) * 3600)
        made = 0
        news_done = {"es": False, "en": False}
        while made < count:
            lang = "es" if rng.random() < share_es else "en"
            offset = start + int(rng.expovariate(1 / 5400)) + rng.randrange(600)
            platform = rng.choices(["x", "reddit", "forum", "youtube"], weights=[70, 12, 12, 6])[0]
            pool = SPIKES[name][lang]
            if not news_done[lang] and made > count // 4:
                news_done[lang] = True
                news = [t for t in NEWS[lang] if t.topic == name]
                if gen.news_item(lang, brand, start + 5400 + rng.randrange(1800), news[0]):
                    made += 1
                continue
            template = gen.pick(pool)
            item_brand = template.topic_brand or brand
            category = template.category
            item = gen.make_item(platform, lang, item_brand, category, template, offset)
            if item is None:
                continue
            item.expected["incident"] = name
            made += 1
            if platform in {"reddit", "forum"}:
                before = len(gen.items)
                gen.thread_replies(item, item_brand)
                for child in gen.items[before:]:
                    child.expected["incident"] = name
                made += len(gen.items) - before


def add_social(gen: Generator, seed: int) -> None:
    """Facebook and Instagram comments under the brands' posts, with replies in their threads.

    A second generator draws them (seeded apart, knowing the ids, handles and texts taken), so
    adding them leaves every other item exactly as it was."""
    social = Generator(seed)
    social.ids, social.handles, social.texts = set(gen.ids), set(gen.handles), set(gen.texts)
    rng = social.rng
    posts: dict[tuple[str, str], list[str]] = {}  # (platform, brand) -> the brand's post ids
    for platform in SOCIAL_PLATFORMS:
        for brand, (page_id, _) in BRAND_PAGES.items():
            if platform == "facebook":
                posts[(platform, brand)] = [
                    f"{page_id}_{rng.randrange(10**15, 10**16)}" for _ in range(8)
                ]
            else:
                posts[(platform, brand)] = [f"179{rng.randrange(10**14, 10**15)}" for _ in range(8)]
    made = 0
    while made < SOCIAL_COMMENTS:
        platform = social.weighted(SOCIAL_PLATFORMS)
        lang = "es" if rng.random() < 0.55 else "en"
        brand = social.weighted(BRAND_WEIGHTS)
        category = social.weighted(SOCIAL_CATEGORIES)
        pool = [t for t in SOCIAL[lang] if t.category == category]
        if category == "complaint":
            template = social.closest_level(pool, social.weighted(COMPLAINT_LEVELS))
        elif pool and rng.random() < 0.7:
            template = social.pick(pool)
        else:
            template = social.choose_template(category, lang, platform)
        post_id = social.pick(posts[(platform, brand)])
        author = social_author(social, platform, lang)
        item = social.make_item(
            platform, lang, brand, category, template, social.base_offset(), author=author
        )
        if item is None:
            continue
        made += 1
        item.kind = "comment"
        item.parent_id = item.thread_id = post_id
        item.id = social_comment_id(social, item, post_id)
        item.url = social_url(item, brand, post_id, item.id)
        for _ in range(min(int(rng.expovariate(1 / 0.5)), 3)):
            reply_lang = lang if rng.random() < 0.9 else ("en" if lang == "es" else "es")
            reply = social.pick(REPLIES[reply_lang])
            child = social.make_item(
                platform, reply_lang, brand, reply.category, reply,
                social.reply_offset(item.offset_s), parent=item,
                author=social_author(social, platform, reply_lang),
            )  # fmt: skip
            if child is None:
                continue
            child.thread_id = post_id
            child.id = social_comment_id(social, child, post_id)
            child.url = social_url(child, brand, post_id, child.id)
        item.replies = len(item.children)
    gen.items.extend(social.items)
    gen.ids |= social.ids


def social_author(gen: Generator, platform: str, lang: str) -> Author:
    """A Facebook user (shown by name) or an Instagram user (by username), with the
    page-scoped id that Meta gives them; a third of the time someone who commented before."""
    pool = gen.authors.setdefault((platform, lang), [])
    if pool and gen.rng.random() < 0.3:
        chosen: Author = gen.pick(pool)
        return chosen
    for _ in range(100):
        first = gen.pick(SLOTS[lang]["first_name"])
        last = gen.pick(SLOTS[lang]["last_name"])
        if platform == "instagram":
            handle = gen.handle_for(platform, first, last)
            break
        handle = f"{first} {last}"
        if handle not in gen.handles:
            break
    else:
        raise RuntimeError("could not draw a unique Facebook name")
    gen.handles.add(handle)
    digits = 16 if platform == "facebook" else 17
    ident = gen.unique_id(lambda: str(gen.rng.randrange(10 ** (digits - 1), 10**digits)))
    author = Author(handle=handle, name=f"{first} {last}", lang=lang, followers=None, id=ident)
    pool.append(author)
    return author


def social_comment_id(gen: Generator, item: Item, post_id: str) -> str:
    """Graph ids: ``<post>_<comment>`` on Facebook, a bare number on Instagram."""
    gen.ids.discard(item.id)
    if item.platform == "facebook":
        local = post_id.split("_", 1)[1]
        return gen.unique_id(lambda: f"{local}_{gen.rng.randrange(10**15, 10**16)}")
    return gen.unique_id(lambda: f"178{gen.rng.randrange(10**14, 10**15)}")


def social_url(item: Item, brand: str, post_id: str, comment_id: str) -> str:
    slug = BRAND_PAGES[brand][1]
    if item.platform == "facebook":
        post, comment = post_id.split("_", 1)[1], comment_id.split("_", 1)[1]
        return f"{BASE_URL}/facebook/{slug}/posts/{post}?comment_id={comment}"
    code = "".join(random.Random(post_id).choices(string.ascii_letters + string.digits, k=11))
    return f"{BASE_URL}/instagram/{slug}/p/{code}/c/{comment_id}"


def add_unsafe_markup(gen: Generator) -> None:
    """A few posts carrying HTML and Markdown, so the dashboard's escaping gets exercised."""
    for index, template in enumerate(UNSAFE_MARKUP):
        platform = ["x", "reddit", "forum", "youtube", "google_reviews", "x"][index % 6]
        lang = "es" if index % 2 == 0 else "en"
        offset = gen.base_offset()
        item = gen.make_item(platform, lang, "Orbita", template.category, template, offset)
        if item is not None:
            item.expected["markup"] = True


UNSAFE_MARKUP = [
    Template(
        "complaint",
        1,
        "negative",
        "billing",
        "**{brand} me cobra de más** otra vez. Mirad: [factura.pdf](javascript:alert(1))",
    ),
    Template(
        "spam",
        0,
        "neutral",
        "spam",
        "<script>alert(1)</script> Premio para clientes de {brand}: <a href=javascript:alert(1)>"
        "reclama aquí</a>",
    ),
    Template(
        "complaint",
        1,
        "negative",
        "app",
        "La web de {brand} me muestra esto en el área de clientes: <script>alert(1)</script> "
        "¿Os han hackeado?",
    ),
    Template(
        "question",
        0,
        "neutral",
        "router",
        "How do I open ports on the {brand} router? I tried `192.168.1.1` and got "
        "<img src=x onerror=alert(1)> in the page title, weird.",
    ),
    Template(
        "praise",
        0,
        "positive",
        "support",
        "__Top service__ from {brand} today. # Ten out of ten\n\n- fast\n- friendly\n"
        "[rate them here](javascript:alert(1))",
    ),
    Template(
        "complaint",
        2,
        "negative",
        "outage",
        "<b>No internet for 3 days</b> and {handle} keeps saying it's fixed. **It is not.** "
        "<script>alert(1)</script>",
    ),
    Template(
        "complaint",
        1,
        "negative",
        "speed",
        "Velocidad real con {brand}: ~~600 Mb~~ **40 Mb**. | prueba | resultado |\n|---|---|\n"
        "| cable | 38 Mb |",
    ),
]


def write(items: Sequence[dict[str, Any]], path: Path = OUT) -> None:
    """Write the corpus as gzipped JSON lines with a fixed mtime, so the bytes are reproducible."""
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        for item in items:
            gz.write(json.dumps(item, ensure_ascii=False, sort_keys=False).encode("utf-8"))
            gz.write(b"\n")


def main() -> None:
    items = build()
    write(items)
    langs = sum(1 for i in items if i["lang"] == "es")
    summary = f"{len(items)} mentions, {langs / len(items):.0%} Spanish -> {OUT.name}"
    print(summary)  # noqa: T201


if __name__ == "__main__":
    main()
