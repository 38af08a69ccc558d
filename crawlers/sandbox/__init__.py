"""The sandbox: a replayed demo platform that streams a bundled corpus and simulates customers.

``from_settings`` builds it from a ``[[sources]]`` table with ``platform = "sandbox"``. See
``docs/sandbox.md`` for the replay, the customer simulation and the options.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import ConfigError
from pipeline.settings import Settings, SourceSettings, parse_duration

from .corpus import DEFAULT_CORPUS, CorpusItem, load_corpus
from .customers import guess_lang, is_csat
from .platform import PAGE_SIZE, SandboxChannel, SandboxPlatform
from .postlog import SandboxPost

__all__ = [
    "DEFAULT_CORPUS",
    "PAGE_SIZE",
    "CorpusItem",
    "SandboxChannel",
    "SandboxPlatform",
    "SandboxPost",
    "default_state_dir",
    "from_settings",
    "guess_lang",
    "is_csat",
    "load_corpus",
]

OPTIONS = frozenset({"state_dir", "corpus", "history", "page_size", "speed", "reply_delay", "seed"})


def default_state_dir(settings: Settings) -> Path:
    """The folder beside the database where the sandbox keeps its posts and replay epoch."""
    return settings.database.with_name(settings.database.name + ".sandbox")


def from_settings(source: SourceSettings, settings: Settings) -> SandboxPlatform:
    """Build the sandbox for one ``[[sources]]`` table; ``[sandbox]`` gives speed and delays."""
    options = source.options
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise ConfigError(
            f"unknown sandbox option {unknown[0]!r} (known: {', '.join(sorted(OPTIONS))})",
            key=f"sources.{source.name}.{unknown[0]}",
        )
    base = settings.config_path.parent if settings.config_path else settings.database.parent

    def path_option(name: str) -> Path | None:
        value = options.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ConfigError("must be a path", key=f"sources.{source.name}.{name}")
        path = Path(value).expanduser()
        return path if path.is_absolute() else base / path

    def number(name: str, default: float) -> float:
        value = options.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError("must be a number", key=f"sources.{source.name}.{name}")
        return float(value)

    sandbox = settings.sandbox
    try:
        reply_delay = parse_duration(options.get("reply_delay", sandbox.reply_delay))
    except ValueError as exc:
        raise ConfigError(str(exc), key=f"sources.{source.name}.reply_delay") from exc
    corpus_path = path_option("corpus")
    try:
        return SandboxPlatform(
            corpus=load_corpus(corpus_path) if corpus_path else None,
            state_dir=path_option("state_dir") or default_state_dir(settings),
            speed=number("speed", sandbox.speed),
            reply_delay=reply_delay,
            seed=int(number("seed", sandbox.seed)),
            name=source.name,
            history=number("history", 0.65),
            page_size=int(number("page_size", PAGE_SIZE)),
            csat_templates=[t.csat for t in settings.templates.values() if t.csat],
        )
    except ValueError as exc:
        raise ConfigError(str(exc), key=f"sources.{source.name}") from exc
