"""Build escucha Settings for one source pointed at a fake, as a TOML file would."""

from __future__ import annotations

from typing import Any

from pipeline.settings import Settings, SourceSettings


def settings_for(
    name: str, platform: str, base_url: str, secrets: dict[str, str], **options: Any
) -> tuple[SourceSettings, Settings]:
    settings = Settings.model_validate(
        {
            "brands": [{"name": "acme", "keywords": ["acme"], "handles": ["acme_care"]}],
            "sources": [{"name": name, "platform": platform, "api_base_url": base_url, **options}],
            "secrets": secrets,
        }
    )
    return settings.sources[0], settings
