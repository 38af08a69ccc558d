"""Platform secrets: the per-source ``ESCUCHA_<SOURCE>_<NAME>`` first, then ``ESCUCHA_<NAME>``."""

from __future__ import annotations

import re

from pipeline.errors import MissingSecret
from pipeline.settings import Settings, SourceSettings


def env_name(source: SourceSettings, name: str) -> str:
    """``ESCUCHA_<SOURCE>_<NAME>``: the per-source override of a platform secret."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", source.name).strip("_").upper()
    return f"ESCUCHA_{slug}_{name.upper()}"


def secret(settings: Settings, source: SourceSettings, name: str, *, needed_for: str) -> str:
    """The per-source secret if set, else the platform-wide ``ESCUCHA_<NAME>``."""
    try:
        return settings.secret(env_name(source, name), needed_for=needed_for)
    except MissingSecret:
        return settings.secret(name, needed_for=needed_for)


def optional_secret(settings: Settings, source: SourceSettings, name: str) -> str | None:
    """Like :func:`secret`, but None when neither variable is set."""
    try:
        return secret(settings, source, name, needed_for=source.name)
    except MissingSecret:
        return None
