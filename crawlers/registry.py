"""The connector registry: which module builds the connector of each platform.

The protocols connectors implement (``Source``, ``Channel``) live in ``pipeline.ports``.
"""

from __future__ import annotations

import importlib

from pipeline.errors import ConfigError
from pipeline.ports import Source
from pipeline.settings import Settings, SourceSettings

# platform name -> "module:factory"; factories take (SourceSettings, Settings) and return a
# Source (and, for platforms that can answer, an object that is also a Channel).
REGISTRY: dict[str, str] = {
    "sandbox": "crawlers.sandbox:from_settings",
    "files": "crawlers.files:from_settings",
    "feeds": "crawlers.feeds:from_settings",
    "x": "crawlers.x:from_settings",
    "reddit": "crawlers.reddit:from_settings",
    "youtube": "crawlers.youtube:from_settings",
    "google_reviews": "crawlers.google_reviews:from_settings",
    "web": "crawlers.web.source:from_settings",
    "facebook": "crawlers.facebook:from_settings",
    "instagram": "crawlers.instagram:from_settings",
    "whatsapp": "crawlers.whatsapp:from_settings",
    "email": "crawlers.email:from_settings",
}


def build_source(source: SourceSettings, settings: Settings) -> Source:
    """Build the connector for one ``[[sources]]`` table."""
    target = REGISTRY.get(source.platform)
    if target is None:
        known = ", ".join(sorted(REGISTRY))
        raise ConfigError(
            f"unknown platform {source.platform!r} (known: {known})",
            key=f"sources.{source.name}.platform",
        )
    module_name, _, factory = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"the {source.platform!r} connector is not available in this installation ({exc})",
            key=f"sources.{source.name}.platform",
        ) from exc
    built: Source = getattr(module, factory)(source, settings)
    return built
