"""Settings: one object loaded from ``escucha.toml`` plus ``ESCUCHA_...`` environment variables.

Loaded once at each entry point (CLI, service) and passed down; library code never reads the
environment: the entry point hands its environment to ``load_settings``. Every key is documented
in ``docs/configuration.md`` (a test checks this). Environment variables are either a setting
(``ESCUCHA_<SECTION>__<KEY>``), a declared secret (``PLATFORM_SECRETS``, per-source overrides and
``alerts.webhook_secret``) or a variable of another escucha program; anything else is a mistake.
This module is a leaf: it imports only ``pipeline.errors``.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pipeline.errors import ConfigError, MissingSecret

DEFAULT_CONFIG = "escucha.toml"
ENV_PREFIX = "ESCUCHA_"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_duration(value: Any) -> timedelta:
    """Parse "90s", "5m", "2h", "1d", a number of seconds, or a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    raise ValueError(f"{value!r} is not a duration; write it like '30s', '5m', '2h' or '1d'")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceSettings(_Model):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    dashboard_url: str = "http://localhost:8501"
    ui_language: Literal["es", "en"] = "es"
    tick: timedelta = timedelta(seconds=1)
    score_batch: int = Field(256, ge=1, le=4096)  # per model call; sorted by length inside
    score_budget: timedelta = timedelta(seconds=10)  # scoring time per cycle before other work
    case_max_age: timedelta = timedelta(days=3)  # older mentions are listened to, not answered

    _tick = field_validator("tick", "score_budget", "case_max_age", mode="before")(parse_duration)


class RiskCategorySettings(_Model):
    """A brand's own risk category (``[[model.risk_categories]]``): recognised by similarity to
    its examples, without retraining the model."""

    key: str
    level: int = Field(2, ge=1, le=3)
    examples: list[Annotated[str, Field(min_length=3, max_length=1000)]] = Field(
        min_length=1, max_length=200
    )
    similarity: float = Field(0.8, gt=0.0, lt=1.0)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]{1,63}", value):
            raise ValueError("use lower-case letters, digits and '_' (it names the reason)")
        return value


class ModelSettings(_Model):
    name_or_path: str = "escucha-minilm"  # a folder under models/, a path, or a hub id
    batch_size: int = Field(32, ge=1, le=1024)
    max_length: int = Field(128, ge=8, le=512)
    threads: int | None = Field(None, ge=1)
    precision: Literal["auto", "fp32", "bf16", "int8"] = "auto"
    allow_hub: bool = False
    risk_categories: list[RiskCategorySettings] = []

    @field_validator("risk_categories")
    @classmethod
    def _unique_keys(cls, value: list[RiskCategorySettings]) -> list[RiskCategorySettings]:
        keys = [category.key for category in value]
        twice = sorted({key for key in keys if keys.count(key) > 1})
        if twice:
            raise ValueError(f"risk category keys used twice: {', '.join(twice)}")
        return value


class BrandSettings(_Model):
    name: str
    handles: list[str] = []
    keywords: list[str] = []
    query: str | None = None
    languages: list[str] = ["es", "en"]
    competitors: list[str] = []


class SourceSettings(BaseModel):
    """One ``[[sources]]`` table: common keys here, platform keys kept in ``options``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str
    platform: str
    every: timedelta = timedelta(minutes=5)
    enabled: bool = True
    brand: str | None = None
    api_base_url: str | None = None

    _every = field_validator("every", mode="before")(parse_duration)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value):
            raise ValueError("use letters, digits, '-', '_' or '.' (it names the source's cursor)")
        return value

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class RuleSettings(_Model):
    """A triage rule: every condition given must hold; the first matching rule wins."""

    name: str
    action: Literal["open_case", "ignore"] = "open_case"
    min_urgency_level: int | None = Field(None, ge=0, le=3)
    max_net_sentiment: float | None = Field(None, ge=-1, le=1)  # p(pos) - p(neg)
    min_complaint: float | None = Field(None, ge=0, le=1)
    keywords: list[str] = []
    min_followers: int | None = None
    platforms: list[str] = []
    brands: list[str] = []
    intents: list[str] = []
    team: str | None = None
    priority: int = Field(2, ge=0, le=3)


class AgentSettings(_Model):
    name: str
    capacity: int = Field(10, ge=1)
    languages: list[str] = []
    on_shift: bool = True  # the default availability; the service can override it at run time


class SlaSettings(_Model):
    first_response: timedelta = timedelta(hours=1)
    resolution: timedelta = timedelta(hours=24)
    warn_before: timedelta = timedelta(minutes=10)

    _durations = field_validator("first_response", "resolution", "warn_before", mode="before")(
        parse_duration
    )


class TeamSettings(_Model):
    name: str
    level: str = "head_office"
    languages: list[str] = []
    platforms: list[str] = []
    brands: list[str] = []
    locations: list[str] = []  # e.g. countries or stores this team serves; empty = any
    timezone: str = "UTC"
    hours: list[str] = ["mon-fri 09:00-17:00"]
    holidays: list[date] = []
    sla: SlaSettings = SlaSettings()
    agents: list[AgentSettings] = []

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name like 'Europe/Madrid'"
            ) from exc
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: list[str]) -> list[str]:
        for spec in value:
            parse_hours(spec)
        return value

    def weekly_hours(self) -> dict[int, list[tuple[time, time]]]:
        """Weekday (0 = Monday) -> open intervals in the team's local time."""
        table: dict[int, list[tuple[time, time]]] = {}
        for spec in self.hours:
            days, start, end = parse_hours(spec)
            for day in days:
                table.setdefault(day, []).append((start, end))
        return table


def parse_hours(spec: str) -> tuple[list[int], time, time]:
    """Parse "mon-fri 09:00-17:00" or "sat 10:00-14:00" into weekdays and a time interval."""
    match = re.fullmatch(
        r"\s*([a-z]{3})(?:-([a-z]{3}))?\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*", spec.lower()
    )
    if not match or match.group(1) not in _DAYS or (match.group(2) and match.group(2) not in _DAYS):
        raise ValueError(f"{spec!r}: write business hours like 'mon-fri 09:00-17:00'")
    first = _DAYS.index(match.group(1))
    last = _DAYS.index(match.group(2)) if match.group(2) else first
    days = list(range(first, last + 1)) if first <= last else [*range(first, 7), *range(last + 1)]
    start = time.fromisoformat(match.group(3).zfill(5))
    end = time.fromisoformat(match.group(4).zfill(5))
    if end <= start:
        raise ValueError(f"{spec!r}: the closing time must be after the opening time")
    return days, start, end


class TemplateSettings(_Model):
    acknowledge: str
    private: str
    close: str
    csat: str | None = None


class PrivateChannelSettings(_Model):
    """Where deflected conversations go on platforms without private messages."""

    kind: Literal["dm", "email", "whatsapp", "web_form"] = "email"
    address: str = "care@example.com"
    # The brand's WhatsApp number, for click-to-chat links when an agent takes a case to WhatsApp
    # (with a WhatsApp source, or the sandbox, which simulates it); None: WhatsApp is offered only
    # when ``kind`` is whatsapp (then ``address`` is the number).
    whatsapp_number: str | None = None


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        hint = "use an IANA name like 'Europe/Madrid'"
        raise ValueError(f"unknown time zone {value!r}; {hint}") from exc
    return value


def parse_clock_range(spec: str) -> tuple[time, time]:
    """Parse "22:00-08:00" (may wrap past midnight) into two local times."""
    match = re.fullmatch(r"\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*", spec)
    if not match:
        raise ValueError(f"{spec!r}: write quiet hours like '22:00-08:00'")
    start = time.fromisoformat(match.group(1).zfill(5))
    end = time.fromisoformat(match.group(2).zfill(5))
    if start == end:
        raise ValueError(f"{spec!r}: quiet hours must not start and end at the same time")
    return start, end


AlertKind = Literal["urgent_case", "volume_spike", "sentiment_drop", "vip_author", "sla_breach"]
ALERT_KINDS: tuple[str, ...] = get_args(AlertKind)


class AlertSubscriptionSettings(_Model):
    """One ``[[alerts.subscriptions]]`` table: who hears about which alerts, and when."""

    name: str
    urls: list[str] = []  # Apprise URLs (Slack, Teams, mailto://, ...)
    webhooks: list[str] = []  # generic JSON webhooks, signed with HMAC-SHA256
    kinds: list[AlertKind] = []  # empty = every kind
    teams: list[str] = []  # only alerts about these care teams; empty = any
    brands: list[str] = []  # only alerts about these brands; empty = any
    min_severity: Literal["info", "warning", "critical"] = "info"
    quiet_hours: str | None = None  # "22:00-08:00" in ``timezone``; critical alerts still go out
    quiet_mode: Literal["defer", "suppress"] = "defer"
    timezone: str = "UTC"

    _tz = field_validator("timezone")(_check_timezone)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        if value is not None:
            parse_clock_range(value)
        return value


class AlertSettings(_Model):
    urls: list[str] = []  # Apprise URLs that receive every alert
    webhooks: list[str] = []  # generic JSON webhooks that receive every alert (signed)
    webhook_secret: str = "alerts_webhook_secret"  # noqa: S105  # names ESCUCHA_ALERTS_WEBHOOK_SECRET
    min_urgency_level: int = Field(3, ge=0, le=3)
    cooldown: timedelta = timedelta(minutes=30)
    vip_authors: list[str] = []  # handles ("@someone") or "platform:handle"
    high_reach_followers: Annotated[int, Field(ge=1)] = 100_000  # this reach or more counts as VIP
    subscriptions: list[AlertSubscriptionSettings] = []

    _cooldown = field_validator("cooldown", mode="before")(parse_duration)


class SandboxSettings(_Model):
    """The replayed demo platform."""

    speed: float = Field(60.0, gt=0)  # corpus seconds replayed per real second
    reply_delay: timedelta = timedelta(seconds=20)  # how long a simulated customer takes to answer
    seed: int = 7

    _delay = field_validator("reply_delay", mode="before")(parse_duration)


class OidcSettings(_Model):
    """Single sign-on with an OpenID Connect provider (Keycloak, Entra ID, Google Workspace, Okta).

    A person signs in at the provider; the account they land on is the escucha user whose e-mail
    (or ``username_claim``) matches; nobody gets in without an escucha user (``escucha users add``).
    """

    issuer: str  # the provider's issuer URL; its /.well-known/openid-configuration is read
    client_id: str
    client_secret: str = "oidc_client_secret"  # noqa: S105  # names ESCUCHA_OIDC_CLIENT_SECRET
    username_claim: str = "email"  # the ID-token claim matched against users' names and e-mails
    scopes: list[str] = ["openid", "email", "profile"]
    label: str = "Single sign-on"  # the dashboard's button text


class AuthSettings(_Model):
    """Sign-in: sessions, lock-out against password guessing, API tokens, single sign-on."""

    session_lifetime: timedelta = timedelta(hours=12)  # a dashboard session signs out after this
    max_failed_logins: int = Field(5, ge=1)  # in a row; then the account waits ``lockout``
    lockout: timedelta = timedelta(minutes=15)
    token_max_lifetime: timedelta = timedelta(days=365)  # the longest an API token may live
    oidc: OidcSettings | None = None

    _durations = field_validator(
        "session_lifetime", "lockout", "token_max_lifetime", mode="before"
    )(parse_duration)


class PrivacySettings(_Model):
    """What is kept about the people we listen to, and for how long."""

    # Raw text, handles and payloads of mentions older than this many days are anonymised by the
    # service, per platform ("*" = every platform without its own entry); empty = kept for good.
    retention_days: dict[str, int] = {}
    retention_every: timedelta = timedelta(hours=1)

    _every = field_validator("retention_every", mode="before")(parse_duration)


_DEFAULT_TEMPLATES = {
    "es": TemplateSettings(
        acknowledge="Hola {author}, sentimos lo ocurrido. Te escribimos por privado para ayudarte.",
        private="Hola {author}, somos el equipo de {brand}. ¿Nos cuentas más para resolverlo?",
        close="¡Gracias {author}! Lo hemos resuelto por privado. Seguimos a tu disposición.",
        csat="¿Cómo valoras la atención recibida, del 1 al 5?",
    ),
    "en": TemplateSettings(
        acknowledge="Hi {author}, we're sorry about this. We've sent you a private message.",
        private="Hi {author}, this is the {brand} team. Could you tell us more so we can fix it?",
        close="Thanks {author}! We sorted this out in private. We're here if you need us.",
        csat="How would you rate the help you received, from 1 to 5?",
    ),
}


def _oauth(prefix: str) -> tuple[str, ...]:
    return tuple(
        f"{prefix}_{n}" for n in ("REFRESH_TOKEN", "CLIENT_ID", "CLIENT_SECRET", "ACCESS_TOKEN")
    )


# Every secret a connector may read, by platform, without the ``ESCUCHA_`` prefix. Each is also
# accepted per source as ``ESCUCHA_<SOURCE>_<NAME>`` (see ``source_secret_variable``).
PLATFORM_SECRETS: dict[str, tuple[str, ...]] = {
    "x": ("X_BEARER_TOKEN", "X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN",
          "X_ACCESS_TOKEN_SECRET"),
    "reddit": ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_USERNAME", "REDDIT_PASSWORD"),
    "youtube": ("YOUTUBE_API_KEY", *_oauth("YOUTUBE")),
    "google_reviews": _oauth("GOOGLE_REVIEWS"),
    # Meta: a page (or Instagram account) token, and the app secret that signs webhooks.
    "facebook": ("FACEBOOK_PAGE_TOKEN", "META_APP_SECRET", "META_VERIFY_TOKEN"),
    "instagram": ("INSTAGRAM_TOKEN", "META_APP_SECRET", "META_VERIFY_TOKEN"),
    "whatsapp": ("WHATSAPP_TOKEN", "META_APP_SECRET", "META_VERIFY_TOKEN"),
    "email": ("EMAIL_IMAP_PASSWORD", "EMAIL_SMTP_PASSWORD"),
}  # fmt: skip

# ``ESCUCHA_`` variables read by other escucha programs, not by the settings.
OTHER_VARIABLES: dict[str, str] = {
    "ESCUCHA_API_URL": "the service address the dashboard talks to",
    "ESCUCHA_BENCH_TEXTS": "texts per benchmark run (tests/bench)",
}


def secret_variable(name: str) -> str:
    """The environment variable of secret ``name`` (``X_BEARER_TOKEN`` -> ``ESCUCHA_X_...``)."""
    return name if name.startswith(ENV_PREFIX) else ENV_PREFIX + name.upper()


def source_secret_variable(source: str, name: str) -> str:
    """``ESCUCHA_<SOURCE>_<NAME>``: the per-source override of a platform secret."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", source).strip("_").upper()
    return f"{ENV_PREFIX}{slug}_{name.upper()}"


class Settings(BaseSettings):
    """Everything escucha is configured with.

    Building it directly (``Settings(...)``, ``model_validate``) uses only the values given;
    ``load_settings`` adds the TOML file and the environment it is handed.
    """

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    database: Path = Path("escucha.duckdb")
    default_language: str = "es"
    service: ServiceSettings = ServiceSettings()
    model: ModelSettings = ModelSettings()
    brands: list[BrandSettings] = []
    sources: list[SourceSettings] = []
    rules: list[RuleSettings] = []
    levels: list[str] = ["head_office", "country", "store"]
    teams: list[TeamSettings] = [TeamSettings(name="care")]
    templates: dict[str, TemplateSettings] = _DEFAULT_TEMPLATES
    private_channel: PrivateChannelSettings = PrivateChannelSettings()
    alerts: AlertSettings = AlertSettings()
    sandbox: SandboxSettings = SandboxSettings()
    auth: AuthSettings = AuthSettings()
    privacy: PrivacySettings = PrivacySettings()
    secrets: dict[str, SecretStr] = {}
    config_path: Path | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique; repeated: {', '.join(dupes)}")
        teams = {t.name for t in self.teams}
        for rule in self.rules:
            if rule.team and rule.team not in teams:
                raise ValueError(f"rule {rule.name!r} routes to unknown team {rule.team!r}")
        for team in self.teams:
            if team.level not in self.levels:
                raise ValueError(f"team {team.name!r} has unknown level {team.level!r}")
        if self.default_language not in self.templates:
            raise ValueError(f"no [templates.{self.default_language}] for the default language")
        return self

    def own_brands(self) -> set[str]:
        """Configured brands that are not only someone's competitor."""
        competitors = {c for brand in self.brands for c in brand.competitors}
        return {brand.name for brand in self.brands if brand.name not in competitors}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Never the process environment: ``load_settings`` passes the file and environment in.
        return (init_settings,)

    def secret_variables(self) -> set[str]:
        """Every secret variable this configuration may read: declared, never guessed."""
        names = {secret_variable(n) for names in PLATFORM_SECRETS.values() for n in names}
        for source in self.sources:
            for name in PLATFORM_SECRETS.get(source.platform, ()):
                names.add(source_secret_variable(source.name, name))
        names.add(secret_variable(self.alerts.webhook_secret))
        if self.auth.oidc is not None:
            names.add(secret_variable(self.auth.oidc.client_secret))
        return names

    def source_secret(self, source: str, name: str, *, needed_for: str) -> str:
        """A platform secret for one source: ``ESCUCHA_<SOURCE>_<NAME>`` if set, else the
        platform-wide ``ESCUCHA_<NAME>``; the error names the platform-wide variable."""
        try:
            return self.secret(source_secret_variable(source, name), needed_for=needed_for)
        except MissingSecret:
            return self.secret(name, needed_for=needed_for)

    def optional_source_secret(self, source: str, name: str) -> str | None:
        """Like :meth:`source_secret`, but None when neither variable is set."""
        try:
            return self.source_secret(source, name, needed_for=source)
        except MissingSecret:
            return None

    def secret(self, name: str, *, needed_for: str) -> str:
        """Return the secret ``ESCUCHA_<NAME>`` or raise an error naming the variable."""
        variable = secret_variable(name)
        if variable not in self.secret_variables():
            raise ConfigError(
                f"{variable} is not a declared secret (asked for by {needed_for})",
                key=variable,
                hint="declare it in pipeline.settings.PLATFORM_SECRETS",
            )
        value = self.secrets.get(variable)
        if value is None or not value.get_secret_value():
            raise MissingSecret(variable, needed_for=needed_for)
        return value.get_secret_value()

    def source(self, name: str) -> SourceSettings:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"no source named {name!r} (configured: {known})", key="sources")

    def team(self, name: str) -> TeamSettings:
        for team in self.teams:
            if team.name == name:
                return team
        raise ConfigError(f"no team named {name!r}", key="teams")

    def template(self, lang: str | None) -> TemplateSettings:
        return self.templates.get(lang or "", self.templates[self.default_language])


def _describe(error: ValidationError) -> tuple[str, str]:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown setting (misspelt?)"
    if first["type"] == "missing":
        message = "required setting is missing"
    extra = len(error.errors()) - 1
    if extra:
        message += f" (and {extra} more problem{'s' if extra > 1 else ''})"
    return key, message


def setting_variables(model: type[BaseModel] = Settings, prefix: str = "") -> dict[str, str]:
    """``ESCUCHA_SECTION__KEY`` -> ``section.key`` for every setting the environment may set.

    Sections are followed to any depth; a list or table of tables (``sources``, ``templates``)
    is set whole, as JSON.
    """
    found: dict[str, str] = {}
    for name, field in model.model_fields.items():
        if model is Settings and name in {"secrets", "config_path"}:
            continue
        path = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.update(setting_variables(annotation, path + "__"))
        else:
            found[ENV_PREFIX + path.upper()] = path.replace("__", ".")
    return found


class _GivenEnvironment(EnvSettingsSource):
    """pydantic-settings' nested ``__`` parsing over a given mapping, not ``os.environ``."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._given = {name.lower(): value for name, value in env.items()}
        super().__init__(
            Settings, case_sensitive=False, env_prefix=ENV_PREFIX, env_nested_delimiter="__"
        )

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return self._given


def _merge(base: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = TomlConfigSettingsSource(Settings, toml_file=path)()
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"not valid TOML ({exc})", path=str(path), hint="fix the syntax at that line"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the file ({exc})", path=str(path)) from exc
    for key in ("secrets", "config_path"):
        if key in data:
            raise ConfigError(
                "secrets never go in the file" if key == "secrets" else "unknown setting",
                key=key,
                path=str(path),
                hint="set each secret as an ESCUCHA_... environment variable"
                " (see docs/configuration.md)",
            )
    return data


def _unknown_variable(name: str, candidates: list[str]) -> ConfigError:
    close = difflib.get_close_matches(name.upper(), candidates, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else "settings are ESCUCHA_<SECTION>__<KEY>"
    return ConfigError(
        "unknown environment variable: not a setting, nor a declared secret",
        key=name,
        path="environment",
        hint=f"{hint} See docs/configuration.md for every setting and secret",
    )


def load_settings(
    path: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    required: bool = False,
) -> Settings:
    """Load settings from a TOML file (default ``./escucha.toml``) and the given environment.

    A missing default file gives the built-in defaults unless ``required``; a missing explicit
    file, bad TOML, a bad value or an unknown ``ESCUCHA_...`` variable raises ConfigError naming
    the file or variable and the key.
    """
    explicit = path is not None
    config_path = Path(path) if path is not None else Path(DEFAULT_CONFIG)
    exists = config_path.exists()
    if not exists and (explicit or required):
        raise ConfigError(
            "config file not found",
            path=str(config_path),
            hint="run `escucha init` to write a starter escucha.toml, or pass --config PATH",
        )
    data = _read_file(config_path) if exists else {}
    ours = {n: v for n, v in (env or {}).items() if n.upper().startswith(ENV_PREFIX)}
    known = setting_variables()
    overrides = {n: v for n, v in ours.items() if n.upper() in known}
    data = _merge(data, _GivenEnvironment(overrides)())
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        key, message = _describe(exc)
        from_env = {known[n.upper()]: n for n in overrides}
        variable = next(
            (v for k, v in from_env.items() if key == k or key.startswith(k + ".")), None
        )
        raise ConfigError(
            message,
            key=f"{key} (from {variable})" if variable else key,
            path=str(config_path) if exists and not variable else "environment",
            hint="see docs/configuration.md for every setting",
        ) from exc
    declared = settings.secret_variables()
    secrets: dict[str, SecretStr] = {}
    for name, value in sorted(ours.items()):
        if name.upper() in known or name in OTHER_VARIABLES:
            continue
        if name not in declared:
            raise _unknown_variable(name, sorted({*known, *declared}))
        secrets[name] = SecretStr(value)
    base = config_path.resolve().parent if exists else Path.cwd()
    database = settings.database if settings.database.is_absolute() else base / settings.database
    return settings.model_copy(
        update={
            "database": database,
            "config_path": config_path if exists else None,
            "secrets": secrets,
        }
    )
