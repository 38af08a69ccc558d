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


def test_a_misspelt_environment_variable_is_refused_naming_the_real_setting():
    with pytest.raises(ConfigError) as info:
        load_settings(None, {"ESCUCHA_SERVCE__PORT": "1"})
    assert "ESCUCHA_SERVCE__PORT" in str(info.value)
    assert "did you mean ESCUCHA_SERVICE__PORT?" in str(info.value)


def test_a_misspelt_secret_is_refused_naming_the_real_secret():
    with pytest.raises(ConfigError, match="did you mean ESCUCHA_X_BEARER_TOKEN"):
        load_settings(None, {"ESCUCHA_X_BEARER_TOKN": "abc"})


def test_every_section_can_be_overridden_from_the_environment(tmp_path):
    path = write(tmp_path, '[private_channel]\nkind = "whatsapp"\n[alerts]\ncooldown = "1h"\n')
    settings = load_settings(
        path,
        {
            "ESCUCHA_PRIVATE_CHANNEL__ADDRESS": "+34 600 000 000",
            "ESCUCHA_ALERTS__MIN_URGENCY_LEVEL": "2",
            "ESCUCHA_ALERTS__URLS": '["json://localhost/hook"]',
            "ESCUCHA_DEFAULT_LANGUAGE": "en",
            "ESCUCHA_MODEL__ALLOW_HUB": "true",
        },
    )
    assert settings.private_channel.kind == "whatsapp"  # the file's other keys stay
    assert settings.private_channel.address == "+34 600 000 000"
    assert settings.alerts.min_urgency_level == 2
    assert settings.alerts.cooldown.total_seconds() == 3600
    assert settings.alerts.urls == ["json://localhost/hook"]
    assert settings.default_language == "en"
    assert settings.model.allow_hub is True
    assert settings.secrets == {}


def test_a_bad_value_in_the_environment_names_the_variable():
    with pytest.raises(ConfigError) as info:
        load_settings(None, {"ESCUCHA_SERVICE__PORT": "99999"})
    assert "ESCUCHA_SERVICE__PORT" in str(info.value)
    assert "service.port" in str(info.value)


def test_secrets_are_declared_per_platform_per_source_and_for_alerts(tmp_path):
    path = write(
        tmp_path,
        '[[sources]]\nname = "x-acme"\nplatform = "x"\n[alerts]\nwebhook_secret = "hook_key"\n',
    )
    env = {
        "ESCUCHA_X_ACME_X_BEARER_TOKEN": "per-source",
        "ESCUCHA_HOOK_KEY": "signing",
        "ESCUCHA_API_URL": "http://127.0.0.1:8000",  # the dashboard's, not ours: ignored
        "HOME": "/home/someone",  # not ours at all
    }
    settings = load_settings(path, env)
    assert settings.secret("ESCUCHA_X_ACME_X_BEARER_TOKEN", needed_for="x") == "per-source"
    assert settings.secret("hook_key", needed_for="webhooks") == "signing"
    assert set(settings.secrets) == {"ESCUCHA_X_ACME_X_BEARER_TOKEN", "ESCUCHA_HOOK_KEY"}
    with pytest.raises(ConfigError, match="did you mean ESCUCHA_X_ACME_X_BEARER_TOKEN"):
        load_settings(path, {"ESCUCHA_X_ACME_X_BEARER_TOKN": "typo"})
    with pytest.raises(ConfigError, match="not a declared secret"):
        settings.secret("MYSTERY_TOKEN", needed_for="a connector")


def test_secrets_never_go_in_the_file(tmp_path):
    path = write(tmp_path, '[secrets]\nESCUCHA_X_BEARER_TOKEN = "abc"\n')
    with pytest.raises(ConfigError, match="secrets never go in the file"):
        load_settings(path)


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
