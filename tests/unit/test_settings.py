"""Settings: clear errors naming the key and the file; every setting documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from pipeline.errors import ConfigError, MissingSecret
from pipeline.settings import Settings, load_settings, parse_duration

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "escucha.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_config_loads(tmp_path):
    settings = load_settings(ROOT / "escucha.example.toml")
    assert settings.brands[0].name == "Orbita"
    assert {"es", "en"} <= set(settings.templates)
    assert settings.database.is_absolute()


def test_a_misspelt_key_names_the_key_and_the_file(tmp_path):
    path = write(tmp_path, "[service]\nprot = 8000\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "service.prot" in str(info.value)
    assert str(path) in str(info.value)
    assert "unknown setting" in str(info.value)


def test_bad_toml_says_where(tmp_path):
    path = write(tmp_path, "[service\nport = 1\n")
    with pytest.raises(ConfigError, match=r"not valid TOML.*line 1"):
        load_settings(path)


def test_a_bad_duration_explains_the_format(tmp_path):
    path = write(tmp_path, '[[sources]]\nname = "s"\nplatform = "sandbox"\nevery = "soon"\n')
    with pytest.raises(ConfigError, match=r"sources\.0\.every.*'30s'"):
        load_settings(path)


def test_a_rule_routing_to_an_unknown_team_is_refused(tmp_path):
    path = write(tmp_path, '[[rules]]\nname = "r"\nteam = "nobody"\n')
    with pytest.raises(ConfigError, match="unknown team 'nobody'"):
        load_settings(path)


def test_an_explicit_missing_file_suggests_init(tmp_path):
    with pytest.raises(ConfigError, match="escucha init"):
        load_settings(tmp_path / "nope.toml")


def test_secrets_come_from_the_environment_and_a_missing_one_names_the_variable(tmp_path):
    settings = load_settings(
        None, {"ESCUCHA_X_BEARER_TOKEN": "abc", "ESCUCHA_SERVICE__PORT": "9001"}
    )
    assert settings.secret("X_BEARER_TOKEN", needed_for="source 'x'") == "abc"
    assert settings.service.port == 9001
    with pytest.raises(MissingSecret, match="ESCUCHA_REDDIT_CLIENT_SECRET"):
        settings.secret("REDDIT_CLIENT_SECRET", needed_for="source 'reddit'")
    assert "abc" not in repr(settings)


def test_durations():
    assert parse_duration("90s").total_seconds() == 90
    assert parse_duration("2h").total_seconds() == 7200
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("5 minutes")


def _fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    names = set()
    for name, field in model.model_fields.items():
        if name in {"secrets", "config_path"}:
            continue
        names.add(prefix + name)
        annotation = field.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                names |= _fields(candidate, prefix + name + ".")
    return names


def test_every_setting_is_documented():
    docs = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_]+(?:\.[a-z_]+)*)`", docs))
    missing = sorted(name for name in _fields(Settings) if name not in documented)
    assert not missing, f"document these settings in docs/configuration.md: {missing}"
