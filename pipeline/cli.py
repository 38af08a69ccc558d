"""The `escucha` command line: init, serve, run, import, classify, cases, stats, demo, users,
audit, privacy, train, evaluate. Settings are loaded here, once, and passed down."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from pipeline.errors import ConfigError, EscuchaError, InputError
from pipeline.settings import DEFAULT_CONFIG, Settings, load_settings

app = typer.Typer(
    name="escucha",
    help="Social listening and social customer care, self-hosted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()
logger = logging.getLogger("pipeline.cli")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help=f"Config file (default ./{DEFAULT_CONFIG}).", show_default=False
    ),
]


def _fail(exc: EscuchaError) -> typer.Exit:
    console.print(f"[bold red]Error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code=1)


def _settings(config: Path | None, *, required: bool = False) -> Settings:
    return load_settings(config, os.environ, required=required)


def _setup_logging(verbose: bool) -> None:
    from pipeline.telemetry import RequestIdFilter

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s",
    )
    for handler in logging.getLogger().handlers:  # the id of the API request, "-" outside one
        handler.addFilter(RequestIdFilter())
    for noisy in ("httpx", "urllib3", "scrapy", "filelock", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def example_config() -> str:
    """The annotated example configuration shipped with escucha."""
    here = Path(__file__).resolve()
    for candidate in (
        here.parents[1] / "escucha.example.toml",
        here.parent / "escucha.example.toml",
    ):
        if candidate.exists():
            return candidate.read_text(encoding="utf-8")
    raise EscuchaError("the example configuration is missing from this installation")


@app.command()
def init(
    path: Annotated[Path, typer.Option(help="Where to write the config.")] = Path(DEFAULT_CONFIG),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a starter escucha.toml (brands, sources, rules, teams, templates) here."""
    if path.exists() and not force:
        console.print(f"{path} already exists; use --force to overwrite it.")
        raise typer.Exit(code=1)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(example_config(), encoding="utf-8")
    tmp.replace(path)
    out.print(f"Wrote {path}. Edit the brands and sources, then run `escucha serve`.")


def _open_service(settings: Settings) -> Any:
    from pipeline.service import Service
    from pipeline.store import Store

    store = Store.open(settings.database)
    return Service(settings, store)


def _check_bind(host: str) -> None:
    """Say so when the API is opened beyond this machine: sign-in guards it, TLS is the proxy's."""
    import ipaddress

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        console.print(
            f"[yellow]Listening on {host}:[/] every route but /health and sign-in needs a "
            "session or API token; put a TLS-terminating reverse proxy in front (docs/security.md)."
        )


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the service: sources, pipeline, outbox, alerts and the HTTP API."""
    _setup_logging(verbose)
    try:
        settings = _settings(config)
        _check_bind(host or settings.service.host)
        service = _open_service(settings)
    except EscuchaError as exc:
        raise _fail(exc) from exc
    import uvicorn

    from pipeline.api.app import create_app

    bind_host = host or settings.service.host
    bind_port = port or settings.service.port
    console.print(
        f"escucha serving {settings.database} on http://{bind_host}:{bind_port} "
        f"({len(service.sources)} sources)"
    )
    if not _has_users(service.store):
        console.print(
            "[yellow]No one can sign in yet:[/] add an admin with "
            "`escucha users add NAME --role admin` (with the service stopped)."
        )
    try:
        uvicorn.run(
            create_app(service, run_scheduler=True),
            host=bind_host,
            port=bind_port,
            log_level="warning",
        )
    finally:
        service.store.close()


@app.command()
def run(
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and exit.")] = False,
    source: Annotated[list[str] | None, typer.Option(help="Only this source (repeatable).")] = None,
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the pipeline once without the API: poll, score, triage, send, read replies."""
    _setup_logging(verbose)
    if not once:
        console.print("Use `escucha run --once`, or `escucha serve` to keep running.")
        raise typer.Exit(code=2)
    try:
        settings = _settings(config)
        for name in source or []:
            settings.source(name)
        service = _open_service(settings)
        try:
            with console.status("Running one cycle..."):
                report = service.run_cycle(only=source, force=True)
        finally:
            service.store.close()
    except EscuchaError as exc:
        raise _fail(exc) from exc
    table = Table("source", "pages", "new", "edited", "error")
    for poll in report.polls:
        table.add_row(
            poll.source, str(poll.pages), str(poll.ingest.new), str(poll.ingest.edited),
            poll.error or "",
        )  # fmt: skip
    out.print(table)
    out.print(
        f"scored {report.scored}, opened {len(report.triage.opened)} cases, "
        f"sent {report.outbox.sent} replies, read {report.private_messages} private messages"
    )
    if any(poll.error for poll in report.polls) or report.errors:
        for error in report.errors:
            console.print(f"[red]{error}[/]")
        raise typer.Exit(code=1)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A JSONL or CSV file of mentions.")],
    platform: Annotated[str, typer.Option(help="Platform the mentions come from (x, forum...).")],
    score: Annotated[
        bool, typer.Option("--score", help="Also score every unscored mention now, with progress.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Import mentions from a JSONL or CSV file; bad rows are reported, the rest stored."""
    from crawlers.files import FileImport
    from pipeline.stages.ingest import IngestResult, store_page
    from pipeline.store import Store, fulltext
    from pipeline.store import mentions as mq

    bad_rows: list[tuple[int, str]] = []
    try:
        settings = _settings(config)
        if not file.exists():
            raise InputError("file not found", path=str(file), hint="check the path")
        # The files connector reads it, ingest stores each page with its cursor: the service's path.
        source = FileImport(
            file, platform, on_bad_row=lambda line, why: bad_rows.append((line, why))
        )
        store = Store.open(settings.database)
    except EscuchaError as exc:
        raise _fail(exc) from exc
    counts = IngestResult()
    pages = imported = 0
    try:
        with store.read() as cur:
            cursor = mq.get_cursor(cur, source.name)
        with Progress(
            TextColumn("[bold]importing[/] {task.description}"),
            BarColumn(),
            TransferSpeedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(file.name, total=file.stat().st_size or 1)
            for page in source.fetch(cursor):
                counts += store_page(store, source.name, source.platform, page)
                pages += 1
                imported += len(page.mentions)
                done, total = source.progress(page)
                progress.update(task, completed=done, total=total)
        fulltext.index_pending(store, limit=None)  # searchable as soon as the command ends
        if score:
            _score_backlog(store, settings)
    except EscuchaError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()
    for line, reason in bad_rows:
        console.print(f"[yellow]{file}:{line}[/]: {reason}", highlight=False)
    if not pages:
        out.print(f"{file} was already imported and has not changed: nothing to do.")
        return
    out.print(
        f"{imported} rows read: {counts.new} new, {counts.edited} edited, "
        f"{counts.unchanged} already stored; {len(bad_rows)} bad rows skipped."
    )


def _score_backlog(store: Any, settings: Settings) -> None:
    """Score every unscored mention, newest first, in the service's batches, with progress."""
    from classifiers import load_classifier
    from pipeline.stages.enrich import BrandMatcher
    from pipeline.stages.score import score_pending
    from pipeline.store import scores

    with store.read() as cur:
        waiting = scores.waiting(cur)
    if not waiting:
        return
    classifier = load_classifier(settings.model)
    matcher = BrandMatcher.from_settings(settings)
    batch = settings.service.score_batch
    with Progress(
        TextColumn("[bold]scoring[/] {task.completed:,.0f}/{task.total:,.0f}"),
        BarColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("scoring", total=waiting, rate="")
        started = time.monotonic()
        while done := score_pending(store, classifier, matcher, batch=batch):
            progress.advance(task, done)
            elapsed = time.monotonic() - started
            rate = progress.tasks[0].completed / elapsed if elapsed else 0.0
            progress.update(task, rate=f"{rate:,.0f} mentions/s")


def _read_lines(handle: IO[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(handle, start=1):
        if line.strip():
            yield number, line


def _parse_classify_line(number: int, line: str, path: str) -> tuple[str, Any]:
    from pipeline.records import TextItem

    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg})", path=path, line=number) from exc
    if not isinstance(data, dict):
        raise InputError("each line must be a JSON object", path=path, line=number)
    if "id" not in data or not isinstance(data.get("text"), str):
        raise InputError("needs an `id` and a `text` string", path=path, line=number)
    rating = data.get("rating")
    if rating is not None and not isinstance(rating, int | float):
        raise InputError("`rating` must be a number", path=path, line=number)
    item = TextItem(
        text=data["text"], lang=data.get("lang"), platform=data.get("platform"), rating=rating
    )
    return str(data["id"]), item


def _classify_progress(to_stdout: bool) -> Progress:
    """Texts/s and ETA on stderr when a person watches it; nothing in pipes, files or CI."""
    shown = console.is_interactive and not os.environ.get("CI")
    if to_stdout and out.is_terminal:
        shown = False  # the results themselves are scrolling past
    return Progress(
        TextColumn("[bold]classifying[/] {task.fields[texts]:,} texts"),
        BarColumn(),
        TextColumn("{task.fields[rate]:,.0f} texts/s"),
        TimeRemainingColumn(),
        console=console,
        disable=not shown,
        redirect_stdout=False,
        redirect_stderr=False,
    )


def _size(reader: IO[str]) -> int | None:
    """Bytes in the input where it is a file (the bar's total), else ``None`` (no ETA)."""
    try:
        return os.fstat(reader.fileno()).st_size if Path(reader.name).is_file() else None
    except (OSError, ValueError, AttributeError, TypeError):
        return None


def _position(reader: IO[str]) -> int | None:
    """Bytes read so far (to the read-ahead buffer), without disturbing line iteration."""
    try:
        return int(reader.buffer.tell())  # type: ignore[attr-defined]
    except (OSError, ValueError, AttributeError):
        return None


@app.command()
def classify(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT.jsonl", help="'-' for stdin.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="'-' for stdout.")],
    on_error: Annotated[str, typer.Option(help="stop or skip bad lines.")] = "stop",
    model: Annotated[str | None, typer.Option(help="Model folder, path or hub id.")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=4096)] = 256,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Say which numeric path runs and why.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Score a JSONL of {id, text, lang?, platform?, rating?}: one JSON line out per line in."""
    if on_error not in ("stop", "skip"):
        console.print("--on-error must be 'stop' or 'skip'")
        raise typer.Exit(code=2)
    from classifiers import load_classifier
    from classifiers.cli import precision_line

    try:  # the [model] section and ESCUCHA_MODEL__* (precision, threads) apply here too
        base = _settings(config).model
    except EscuchaError as exc:
        raise _fail(exc) from exc
    settings = base if model is None else base.model_copy(update={"name_or_path": model})
    source = str(input_path)
    skipped = 0
    written = 0
    try:
        classifier = load_classifier(settings)
        if verbose:
            console.print(precision_line(classifier), highlight=False, markup=False, soft_wrap=True)
        reader = sys.stdin if source == "-" else input_path.open(encoding="utf-8")
        tmp = None if str(output) == "-" else output.with_name(output.name + ".partial")
        writer = sys.stdout if tmp is None else tmp.open("w", encoding="utf-8")
        progress = _classify_progress(str(output) == "-")
        task = progress.add_task("classify", total=_size(reader), texts=0, rate=0.0)
        try:
            ids: list[str] = []
            items: list[Any] = []
            started = time.monotonic()

            def flush() -> None:
                nonlocal written
                for item_id, prediction in zip(ids, classifier.predict(items), strict=True):
                    writer.write(json.dumps(prediction.as_contract(item_id), ensure_ascii=False))
                    writer.write("\n")
                written += len(ids)
                ids.clear()
                items.clear()
                rate = written / max(time.monotonic() - started, 1e-9)
                progress.update(task, completed=_position(reader), texts=written, rate=rate)

            progress.start()
            for number, line in _read_lines(reader):
                try:
                    item_id, item = _parse_classify_line(number, line, source)
                except InputError as exc:
                    if on_error == "stop":
                        raise
                    skipped += 1
                    console.print(f"[yellow]skipped[/] {exc}", highlight=False)
                    continue
                ids.append(item_id)
                items.append(item)
                if len(items) >= batch_size:
                    flush()
            if items:
                flush()
        finally:
            progress.stop()
            if reader is not sys.stdin:
                reader.close()
            if writer is not sys.stdout:
                writer.close()
        if tmp is not None:
            tmp.replace(output)
    except UnicodeDecodeError as exc:
        raise _fail(InputError(f"not UTF-8 text ({exc.reason})", path=source)) from exc
    except OSError as exc:
        raise _fail(InputError(f"cannot read or write ({exc.strerror})", path=source)) from exc
    except EscuchaError as exc:
        if str(output) != "-":
            output.with_name(output.name + ".partial").unlink(missing_ok=True)
        raise _fail(exc) from exc
    console.print(f"classified {written} lines" + (f", skipped {skipped}" if skipped else ""))


@app.command()
def cases(
    status: Annotated[list[str] | None, typer.Option(help="Only these statuses.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    config: ConfigOption = None,
) -> None:
    """List cases, most urgent SLA first."""
    from pipeline.store import Store
    from pipeline.store.search import CaseFilter
    from pipeline.store.search import cases as list_cases

    try:
        settings = _settings(config)
        with Store.open(settings.database) as store, store.read() as cur:
            items, total = list_cases(
                cur,
                CaseFilter(statuses=tuple(status or ()), open=None if status else True),
                limit=limit,
            )
    except EscuchaError as exc:
        raise _fail(exc) from exc
    if as_json:
        out.print_json(json.dumps({"items": items, "total": total}, default=str))
        return
    table = Table(
        "case", "status", "urgency", "platform", "lang", "team", "assignee", "due", "text"
    )
    for case in items:
        table.add_row(
            case["id"], case["status"], str(case["urgency_level"]), case["platform"],
            case["lang"] or "", case["team"] or "", case["assignee"] or "",
            str(case["sla_due"] or "")[:16], (case["text"] or "")[:60],
        )  # fmt: skip
    out.print(table)
    out.print(f"{len(items)} of {total} cases")


@app.command()
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    config: ConfigOption = None,
) -> None:
    """Counts of mentions, cases by status and the outbox."""
    from pipeline.store import Store, summary

    try:
        settings = _settings(config)
        with Store.open(settings.database) as store, store.read() as cur:
            result = summary.counts(cur)
    except EscuchaError as exc:
        raise _fail(exc) from exc
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    out.print(f"mentions: {result['mentions']}")
    out.print("cases: " + ", ".join(f"{k} {v}" for k, v in sorted(result["cases"].items())))
    out.print("outbox: " + ", ".join(f"{k} {v}" for k, v in result["outbox"].items()))


def _wait_for(url: str, seconds: float, alive: Callable[[], bool]) -> bool:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and alive():
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def dashboard_command(port: int, *, address: str = "127.0.0.1") -> list[str]:
    """The command line that runs the Streamlit dashboard: on ``address`` only (Streamlit's own
    default is every interface), headless (no first-run e-mail prompt; ``demo --open`` opens the
    browser itself), without usage statistics, and with Streamlit's developer toolbar ("Deploy",
    rerun settings) hidden from users."""
    dashboard = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(dashboard),
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]


@app.command()
def demo(
    directory: Annotated[
        Path, typer.Option(help="Where the demo keeps its config and data.")
    ] = Path(".escucha/demo"),
    api_port: Annotated[int, typer.Option()] = 8000,
    dashboard_port: Annotated[int, typer.Option()] = 8501,
    dashboard_address: Annotated[
        str,
        typer.Option(help="Address the dashboard listens on; 0.0.0.0 shows it to the network."),
    ] = "127.0.0.1",
    open_browser: Annotated[bool, typer.Option("--open/--no-open")] = False,
) -> None:
    """Run the product on its embedded default: sandbox platform, offline model, dashboard."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / DEFAULT_CONFIG
    if not config.exists():
        config.write_text(example_config(), encoding="utf-8")
    try:
        demo_settings = load_settings(config, os.environ)
        sign_ins = _demo_sign_ins(demo_settings, directory)
    except EscuchaError as exc:
        raise _fail(exc) from exc
    escucha = shutil.which("escucha") or sys.argv[0]
    env = {**os.environ, "ESCUCHA_API_URL": f"http://127.0.0.1:{api_port}"}
    # Stopped by a terminal's Ctrl-C or by a supervisor's SIGTERM: either way the service and the
    # dashboard stop with it (the `finally` below), instead of holding the ports and the database.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    service = subprocess.Popen(  # noqa: S603 - our own executables
        [escucha, "serve", "--config", str(config), "--port", str(api_port)], env=env
    )
    procs = [service]
    try:
        if not _wait_for(
            f"http://127.0.0.1:{api_port}/health", 120, lambda: service.poll() is None
        ):
            console.print("[red]The service did not start; see its messages above.[/]")
            raise typer.Exit(code=1)
        procs.append(
            subprocess.Popen(  # noqa: S603
                dashboard_command(dashboard_port, address=dashboard_address), env=env
            )
        )
        dashboard_url = f"http://{_url_host(dashboard_address)}:{dashboard_port}"
        if open_browser and _wait_for(
            f"{dashboard_url}/_stcore/health", 60, lambda: procs[-1].poll() is None
        ):
            import webbrowser

            webbrowser.open(dashboard_url)
        out.print(
            f"\n[bold green]escucha is running[/]\n"
            f"  dashboard  {dashboard_url}\n"
            f"  API        http://127.0.0.1:{api_port} (docs/api.md)\n"
            f"  data       {directory}\n"
            "Sign in with (also in sign-ins.txt there):\n"
            + "".join(f"  {role:<10} {name} / {password}\n" for name, role, password in sign_ins)
            + "The sandbox streams mentions as if live; cases appear in the queue. Ctrl-C stops.\n"
        )
        while all(p.poll() is None for p in procs):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


# -- people, audit and privacy (run with the service stopped: they open the database) ----------

users_app = typer.Typer(help="People who sign in: add, list, disable, reset, API tokens.")
privacy_app = typer.Typer(help="What is held about one person we listened to: export, erase.")
app.add_typer(users_app, name="users")
app.add_typer(privacy_app, name="privacy")

ROLE_HELP = "admin, manager, agent, analyst or viewer (see docs/security.md)"


def _operator() -> str:
    """The audit actor of a command run on the server: the operating-system account."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (containers)
        return "cli"


def _has_users(store: Any) -> bool:
    from pipeline.store import access as queries

    with store.read() as cur:
        return queries.count_users(cur) > 0


@contextlib.contextmanager
def _store(config: Path | None) -> Iterator[Any]:
    from pipeline.store import Store

    try:
        settings = _settings(config)
        with Store.open(settings.database) as store:
            yield settings, store
    except EscuchaError as exc:
        raise _fail(exc) from exc


def _new_password() -> str:
    import secrets

    return secrets.token_urlsafe(12)


def _read_password(from_stdin: bool) -> str | None:
    if not from_stdin:
        return None
    return sys.stdin.readline().rstrip("\n")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Sign-in name (an e-mail address works).")],
    role: Annotated[str, typer.Option(help=ROLE_HELP)] = "agent",
    team: Annotated[list[str] | None, typer.Option(help="Care team (repeatable).")] = None,
    brand: Annotated[
        list[str] | None, typer.Option(help="Brand this person sees (repeatable; none = all).")
    ] = None,
    email: Annotated[str | None, typer.Option(help="For single sign-on.")] = None,
    display_name: Annotated[str | None, typer.Option()] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    sso_only: Annotated[bool, typer.Option("--sso-only", help="No password.")] = False,
    config: ConfigOption = None,
) -> None:
    """Add a person; without --password-stdin a random password is made and shown once."""
    from pipeline.access import audit, users
    from pipeline.records import utcnow

    password = None if sso_only else (_read_password(password_stdin) or _new_password())
    with _store(config) as (settings, store):
        try:
            _known_scope(settings, team or [], brand or [])
            created = users.add(
                store, name, role=role, password=password, now=utcnow(), email=email,
                display_name=display_name, teams=team or [], brands=brand or [],
            )  # fmt: skip
            audit.record(
                store, _operator(), "user.add", now=utcnow(), via="cli", target=created["name"],
                detail={"role": role, "teams": team or [], "brands": brand or []},
            )  # fmt: skip
        except EscuchaError as exc:
            raise _fail(exc) from exc
    out.print(f"added {created['name']} ({created['role']})")
    if password is not None and not password_stdin:
        out.print(f"password: {password}  (shown once; they can change it after signing in)")


def _known_scope(settings: Settings, teams: list[str], brands: list[str]) -> None:
    known_teams = {t.name for t in settings.teams}
    known_brands = {b.name for b in settings.brands}
    for value, known, kind in ((teams, known_teams, "team"), (brands, known_brands, "brand")):
        unknown = sorted(set(value) - known)
        if unknown and known:
            raise ConfigError(
                f"unknown {kind} {', '.join(unknown)}",
                hint=f"configured: {', '.join(sorted(known))}",
            )


@users_app.command("list")
def users_list(config: ConfigOption = None) -> None:
    """Everyone who can sign in, with role, scope and state."""
    from pipeline.access import users

    with _store(config) as (_, store):
        found = users.listing(store)
    table = Table("name", "role", "teams", "brands", "state", "last sign-in")
    for user in found:
        state = "disabled" if user["disabled"] else ("locked" if user["locked_until"] else "active")
        last = user["last_login_at"].strftime("%Y-%m-%d %H:%M") if user["last_login_at"] else "-"
        table.add_row(
            user["name"], user["role"], ", ".join(user["teams"]) or "-",
            ", ".join(user["brands"]) or "all", state, last,
        )  # fmt: skip
    out.print(table)


def _set_disabled(name: str, disabled: bool, config: Path | None) -> None:
    from pipeline.access import audit, users
    from pipeline.records import utcnow

    with _store(config) as (_, store):
        try:
            users.update(store, name, {"disabled": disabled}, now=utcnow())
            audit.record(
                store, _operator(), "user.change", now=utcnow(), via="cli", target=name.lower(),
                detail={"disabled": disabled},
            )  # fmt: skip
        except EscuchaError as exc:
            raise _fail(exc) from exc
    out.print(f"{name}: {'disabled, sessions and tokens ended' if disabled else 'enabled'}")


@users_app.command("disable")
def users_disable(name: str, config: ConfigOption = None) -> None:
    """Stop a person signing in; their sessions and API tokens end at once."""
    _set_disabled(name, True, config)


@users_app.command("enable")
def users_enable(name: str, config: ConfigOption = None) -> None:
    """Let a disabled person sign in again."""
    _set_disabled(name, False, config)


@users_app.command("reset")
def users_reset(
    name: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from stdin.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Set a new password (random unless given), unlock the account, end its sessions."""
    from pipeline.access import audit, users
    from pipeline.records import utcnow

    password = _read_password(password_stdin) or _new_password()
    with _store(config) as (_, store):
        try:
            ended = users.set_password(store, name, password, now=utcnow())
            audit.record(
                store, _operator(), "user.password", now=utcnow(), via="cli", target=name.lower()
            )
        except EscuchaError as exc:
            raise _fail(exc) from exc
    out.print(f"{name}: password set, unlocked, {ended} sessions and tokens ended")
    if not password_stdin:
        out.print(f"password: {password}  (shown once)")


@users_app.command("token")
def users_token(
    name: str,
    label: Annotated[str, typer.Option(help="What the token is for.")],
    role: Annotated[str | None, typer.Option(help="At most the user's role.")] = None,
    days: Annotated[int, typer.Option(min=1, max=3650)] = 90,
    config: ConfigOption = None,
) -> None:
    """Make an API token for a person's scripts; it is printed once and stored hashed."""
    from datetime import timedelta

    from pipeline.access import audit, tokens, users
    from pipeline.access.roles import Principal
    from pipeline.records import utcnow

    with _store(config) as (settings, store):
        try:
            user = users.get(store, name)
            owner = Principal(name=user["name"], role=user["role"], via="cli")
            token, info = tokens.create_token(
                store, settings.auth, owner, label=label, role=role,
                lifetime=timedelta(days=days), now=utcnow(),
            )  # fmt: skip
            audit.record(
                store, _operator(), "token.create", now=utcnow(), via="cli", target=info["id"],
                detail={"user": user["name"], "role": info["role"], "days": days},
            )  # fmt: skip
        except EscuchaError as exc:
            raise _fail(exc) from exc
    expires = f"{info['expires_at']:%Y-%m-%d}"
    out.print(f"token {info['id']} for {user['name']} ({info['role']}), expires {expires}")
    out.print(token, highlight=False, soft_wrap=True)


@app.command("audit")
def audit_command(
    actor: Annotated[str | None, typer.Option(help="Only this person.")] = None,
    action: Annotated[str | None, typer.Option(help="Only actions starting with this.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines on stdout.")] = False,
    config: ConfigOption = None,
) -> None:
    """Who did what: the audit log, newest first, and whether it was altered."""
    from pipeline.access import audit

    with _store(config) as (_, store):
        items, total = audit.entries(store, actor=actor, action=action, limit=limit)
        broken = audit.broken_at(store)
    if as_json:
        for item in items:
            sys.stdout.write(json.dumps(item, default=str, ensure_ascii=False) + "\n")
    else:
        table = Table("id", "at", "actor", "via", "action", "target", "outcome")
        for item in items:
            table.add_row(
                str(item["id"]), f"{item['happened_at']:%Y-%m-%d %H:%M:%S}", item["actor"],
                item["via"], item["action"], item["target"] or "", item["outcome"],
            )  # fmt: skip
        out.print(table)
        console.print(f"{len(items)} of {total} entries")
    if broken is not None:
        console.print(f"[bold red]The audit log was altered at entry {broken}[/]")
        raise typer.Exit(code=2)


@privacy_app.command("export")
def privacy_export(
    author: Annotated[str, typer.Option(help="Author key (x:handle) or @handle.")],
    output: Annotated[Path | None, typer.Option("--out", help="Write here, not stdout.")] = None,
    config: ConfigOption = None,
) -> None:
    """Everything held about one person and their linked accounts, as JSON."""
    from pipeline.access import audit
    from pipeline.care import privacy
    from pipeline.records import utcnow

    with _store(config) as (_, store):
        try:
            document = privacy.export_person(store, author)
            audit.record(
                store, _operator(), "privacy.export", now=utcnow(), via="cli",
                detail={"rows": document.get("summary")},
            )  # fmt: skip
        except EscuchaError as exc:
            raise _fail(exc) from exc
    text = json.dumps(document, ensure_ascii=False, indent=2, default=str)
    if output is None:
        sys.stdout.write(text + "\n")
        return
    partial = output.with_name(output.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(output)  # never a half-written export
    console.print(f"written {output}")


@privacy_app.command("erase")
def privacy_erase(
    author: Annotated[str, typer.Option(help="Author key (x:handle) or @handle.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do it: erasure cannot be undone.")] = False,
    config: ConfigOption = None,
) -> None:
    """Erase one person's text, handles and messages; counts and trends survive, anonymised."""
    from dataclasses import asdict

    from pipeline.access import audit
    from pipeline.care import privacy
    from pipeline.records import utcnow

    if not yes:
        raise _fail(ConfigError("erasure cannot be undone", hint="add --yes to go ahead"))
    with _store(config) as (_, store):
        try:
            report = asdict(privacy.erase_person(store, author, now=utcnow()))
            audit.record(
                store, _operator(), "privacy.erase", now=utcnow(), via="cli",
                target=str(report.get("erasure_id")), detail=report,
            )  # fmt: skip
        except EscuchaError as exc:
            raise _fail(exc) from exc
    out.print_json(json.dumps(report, default=str))


def _demo_sign_ins(settings: Settings, directory: Path) -> list[tuple[str, str, str]]:
    """The demo's people: an admin, an agent of the first team and a brand-team analyst (who
    reads the listening pages), made on the first run with random passwords kept in
    ``sign-ins.txt`` (readable by this account only)."""
    from pipeline.access import users
    from pipeline.records import utcnow
    from pipeline.store import Store

    saved = directory / "sign-ins.txt"
    team = settings.teams[0]
    agent = team.agents[0].name if team.agents else "agent"
    with Store.open(settings.database) as store:
        if _has_users(store) and saved.exists():
            lines = saved.read_text(encoding="utf-8").splitlines()
            return [tuple(line.split("\t")) for line in lines if line.count("\t") == 2]  # type: ignore[misc]
        people = [
            ("admin", "admin", _new_password()),
            (agent, "agent", _new_password()),
            ("marca", "analyst", _new_password()),
        ]
        for name, role, password in people:
            try:
                users.set_password(store, name, password, now=utcnow())
            except EscuchaError:
                users.add(
                    store, name, role=role, password=password, now=utcnow(),
                    teams=[team.name] if role == "agent" else [],
                )  # fmt: skip
    fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.writelines(f"{n}\t{r}\t{p}\n" for n, r, p in people)
    return people


def _url_host(address: str) -> str:
    """A host to reach a server bound to ``address`` at (any-address binds answer on loopback)."""
    if address in ("0.0.0.0", "::", ""):  # noqa: S104 - comparing, not binding
        return "127.0.0.1"
    return f"[{address}]" if ":" in address else address


def _friendly(command: Callable[..., None]) -> Callable[..., None]:
    """The command with escucha's errors printed as one clear line and exit code 1."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except EscuchaError as exc:
            raise _fail(exc) from exc

    return run


def _register_model_commands() -> None:
    try:
        from classifiers import cli as model_cli
    except ImportError:  # pragma: no cover - the classifiers package always ships it
        return
    commands = (
        ("train", "Fine-tune the default model (see docs/models.md)."),
        ("calibrate", "Refit blend weights, temperatures and threshold on your labelled JSONL."),
        ("evaluate", "Score a model on any labelled JSONL."),
        ("train_risk", "Teach a model the risk taxonomy from the risk set (docs/models.md)."),
        ("evaluate_risk", "Leave-sector-out and leave-writer-out figures of the risk head."),
    )
    for name, help_text in commands:
        if hasattr(model_cli, name):
            command = name.replace("_", "-")
            app.command(command, help=help_text)(_friendly(getattr(model_cli, name)))


_register_model_commands()


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
