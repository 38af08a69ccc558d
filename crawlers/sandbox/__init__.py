"""The sandbox: a replayed demo platform that streams a bundled corpus and simulates customers.

``from_settings`` builds it from a ``[[sources]]`` table with ``platform = "sandbox"``. See
``docs/sandbox.md`` for the replay, the customer simulation and the options.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, field_validator

from crawlers.options import Options, parse_options
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
    "SandboxOptions",
    "SandboxPlatform",
    "SandboxPost",
    "default_state_dir",
    "from_settings",
    "guess_lang",
    "is_csat",
    "load_corpus",
]


class SandboxOptions(Options):
    """Keys of a ``sandbox`` source; unset ones come from ``[sandbox]`` or the defaults."""

    state_dir: str | None = None  # relative to the config file
    corpus: str | None = None
    history: float = Field(0.65, strict=True)
    page_size: int = Field(PAGE_SIZE, strict=True)
    speed: float | None = Field(None, strict=True)
    reply_delay: timedelta | None = None
    seed: int | None = Field(None, strict=True)

    _delay = field_validator("reply_delay", mode="before")(parse_duration)

    @field_validator("state_dir", "corpus")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and not value:
            raise ValueError("must be a path")
        return value


def default_state_dir(settings: Settings) -> Path:
    """The folder beside the database where the sandbox keeps its posts and replay epoch."""
    return settings.database.with_name(settings.database.name + ".sandbox")


def from_settings(source: SourceSettings, settings: Settings) -> SandboxPlatform:
    """Build the sandbox for one ``[[sources]]`` table; ``[sandbox]`` gives speed and delays."""
    options = parse_options(SandboxOptions, source, docs="docs/sandbox.md")
    base = settings.config_path.parent if settings.config_path else settings.database.parent

    def resolve(value: str | None) -> Path | None:
        if value is None:
            return None
        path = Path(value).expanduser()
        return path if path.is_absolute() else base / path

    sandbox = settings.sandbox
    corpus_path = resolve(options.corpus)
    try:
        return SandboxPlatform(
            corpus=load_corpus(corpus_path) if corpus_path else None,
            state_dir=resolve(options.state_dir) or default_state_dir(settings),
            speed=options.speed if options.speed is not None else sandbox.speed,
            reply_delay=(
                options.reply_delay if options.reply_delay is not None else sandbox.reply_delay
            ),
            seed=options.seed if options.seed is not None else sandbox.seed,
            name=source.name,
            history=options.history,
            page_size=options.page_size,
            csat_templates=[t.csat for t in settings.templates.values() if t.csat],
        )
    except ValueError as exc:
        raise ConfigError(str(exc), key=f"sources.{source.name}") from exc
