"""Connector options: every connector validates its ``[[sources]]`` keys with a model and
:func:`parse_options`, so a bad key always fails the same way, naming ``sources.<name>.<key>``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from crawlers.http import RetryPolicy
from pipeline.errors import ConfigError
from pipeline.settings import SourceSettings, parse_duration

M = TypeVar("M", bound="Options")


class Options(BaseModel):
    """Base of every connector's options: frozen, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ConnectorOptions(Options):
    """Keys every platform API connector accepts, besides its own."""

    timeout: timedelta = timedelta(seconds=30)  # per HTTP request
    retries: int = 2  # extra attempts after a 5xx, a timeout or a 429 that resets soon
    retry_backoff: timedelta = timedelta(seconds=1)  # first pause after a 5xx; doubles
    max_wait: timedelta = timedelta(seconds=60)  # most one call may sleep, 429 resets included
    max_pages: int = 20  # per stream and poll; the rest is read on the next poll

    _durations = field_validator("timeout", "retry_backoff", "max_wait", mode="before")(
        parse_duration
    )

    def policy(self) -> RetryPolicy:
        return RetryPolicy(
            retries=self.retries,
            backoff=self.retry_backoff.total_seconds(),
            max_wait=self.max_wait.total_seconds(),
        )


def parse_options(model: type[M], source: SourceSettings, *, docs: str = "docs/platforms.md") -> M:
    """Validate a source's platform keys into ``model``; errors name ``sources.<name>.<key>``.

    ``docs`` is the page the error's hint points at, where the platform's keys are listed.
    """
    try:
        return model.model_validate(source.options)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        location = ".".join(str(part) for part in first["loc"])
        if first["type"] == "extra_forbidden":
            message = "unknown setting (misspelt?)"
            if len(first["loc"]) == 1:
                message += f"; known: {', '.join(sorted(model.model_fields))}"
        else:
            message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(
            message,
            key=f"sources.{source.name}" + (f".{location}" if location else ""),
            hint=f"see {docs} for the keys of {source.platform!r} sources",
        ) from exc
