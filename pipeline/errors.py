"""The one error tree of escucha: every failure a user can meet is one of these.

    EscuchaError                 (HTTP status 400)
    ├── ConfigError          400 bad or missing setting, unknown ESCUCHA_ variable
    │   └── MissingSecret    400 a declared secret is not set
    ├── SourceError          502 a platform or site could not be read or written
    │   ├── AuthError        502 credentials refused or expired
    │   ├── RateLimited      502 the platform asked us to wait (``retry_after`` seconds)
    │   └── SourceUnavailable  502 network failure, 5xx, malformed response
    ├── ClassifierError      503 model missing, unreadable or failing
    ├── StorageError         503 database locked, migration failure, I/O error
    │   └── DatabaseLocked   503 another process (usually ``escucha serve``) holds the file
    ├── NotFound             404 a case, mention, author or agent asked for does not exist
    │   └── CaseNotFound     404 no case with that id
    ├── Conflict             409 the request clashes with the current state of what it acts on
    │   └── CaseError        409 illegal case transition or bad case action
    ├── BadRequest           400 an API request with a bad value or combination of values
    ├── NotSignedIn          401 no credential, or one that is unknown, expired or revoked
    ├── Forbidden            403 signed in, but this role or scope may not do it
    ├── SignInLocked         429 too many failed sign-ins in a row (``until``)
    └── InputError           400 a malformed input file or line (``path``, ``line``)

Each error carries its context as attributes and a message that says what failed and what to do.
``status`` is the HTTP status the API answers with; the API maps errors to responses in one place.
This module is a leaf: it imports nothing of the project.
"""

from __future__ import annotations


class EscuchaError(Exception):
    """Base class of every error escucha raises on purpose."""

    hint: str | None = None
    status: int = 400  # the HTTP status the API answers with

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} - {self.hint}"
        return self.message


class ConfigError(EscuchaError):
    """A setting is missing, malformed or inconsistent."""

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        path: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.key = key
        self.path = path
        where = ""
        if key and path:
            where = f"{path}: {key}: "
        elif key:
            where = f"{key}: "
        elif path:
            where = f"{path}: "
        super().__init__(f"{where}{message}", hint=hint)


class MissingSecret(ConfigError):
    """A credential expected in an environment variable is not set."""

    def __init__(self, variable: str, *, needed_for: str) -> None:
        self.variable = variable
        super().__init__(
            f"No secret found for {needed_for}",
            key=variable,
            hint=f"set the {variable} environment variable"
            f" (or remove {needed_for} from the config)",
        )


class SourceError(EscuchaError):
    """A platform, site or feed could not be read or written."""

    status = 502

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        platform: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.source = source
        self.platform = platform
        prefix = f"source {source!r}: " if source else (f"{platform}: " if platform else "")
        super().__init__(f"{prefix}{message}", hint=hint)


class AuthError(SourceError):
    """The platform refused our credentials."""

    hint = "check the credentials in the ESCUCHA_... environment variables for this source"


class RateLimited(SourceError):
    """The platform asked us to slow down; try again after ``retry_after`` seconds."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        source: str | None = None,
        platform: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, source=source, platform=platform, hint=hint)


class SourceUnavailable(SourceError):
    """Network failure, server error or a response we cannot parse."""


class ClassifierError(EscuchaError):
    """The model could not be loaded or run."""

    status = 503


class StorageError(EscuchaError):
    """The database could not be opened, migrated, read or written."""

    status = 503


class DatabaseLocked(StorageError):
    """Another process holds the DuckDB file."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"The database {path} is in use by another process (usually `escucha serve`)",
            hint="stop the service first, or use its HTTP API (see `escucha serve --help`)",
        )


class NotFound(EscuchaError):
    """Something asked for by its id or name (a case, mention, author, agent) does not exist."""

    status = 404


class CaseNotFound(NotFound):
    """No case with this id."""

    def __init__(self, case_id: str, *, hint: str | None = None) -> None:
        self.case_id = case_id
        super().__init__(f"case {case_id}: no such case", hint=hint)


class Conflict(EscuchaError):
    """The request clashes with the current state of what it acts on."""

    status = 409


class CaseError(Conflict):
    """A case action that is not allowed in the case's current state, or malformed."""

    def __init__(self, message: str, *, case_id: str | None = None, hint: str | None = None):
        self.case_id = case_id
        super().__init__(f"case {case_id}: {message}" if case_id else message, hint=hint)


class BadRequest(EscuchaError):
    """An API request with a value, or a combination of values, the API cannot act on."""


class NotSignedIn(EscuchaError):
    """No credential came with the request, or it is unknown, expired or revoked."""

    status = 401


class Forbidden(EscuchaError):
    """The signed-in person's role or scope does not allow what they asked for."""

    status = 403


class SignInLocked(EscuchaError):
    """Too many failed sign-ins in a row: the account waits until ``until`` (ISO time)."""

    status = 429

    def __init__(self, until: str) -> None:
        self.until = until
        super().__init__(
            f"too many failed sign-ins; try again after {until}",
            hint="an admin can unlock it at once with `escucha users reset`",
        )


class InputError(EscuchaError):
    """A malformed input file or line."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        where = path or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}", hint=hint)
