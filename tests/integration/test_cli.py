"""The command line as a user runs it: init, import, run --once, stats, cases, classify, and the
refusal while the service holds the database."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ESCUCHA = [sys.executable, "-m", "pipeline.cli"]
ROWS = Path(__file__).resolve().parents[1] / "data" / "classify_sample.jsonl"


def escucha(
    *args: str, cwd: Path, check: bool = True, **kwargs
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    done = subprocess.run(
        [*ESCUCHA, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, **kwargs
    )
    if check and done.returncode != 0:
        raise AssertionError(f"escucha {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture
def workdir(tmp_path):
    escucha("init", cwd=tmp_path)
    return tmp_path


def test_init_writes_a_config_and_refuses_to_overwrite_it(workdir):
    assert "[[brands]]" in (workdir / "escucha.toml").read_text()
    again = escucha("init", cwd=workdir, check=False)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_a_bad_config_is_one_clear_error(tmp_path):
    (tmp_path / "escucha.toml").write_text("[service]\nport = 'high'\n")
    done = escucha("stats", cwd=tmp_path, check=False)
    assert done.returncode == 1
    assert "service.port" in done.stderr and "escucha.toml" in done.stderr
    assert "Traceback" not in done.stderr


def test_import_reports_bad_rows_by_line_and_reimport_changes_nothing(workdir):
    data = workdir / "mentions.jsonl"
    data.write_text(
        '{"id": "1", "text": "Orbita sin fibra", "author": "ana", "created_at": "2026-01-02T10:00:00Z"}\n'
        '{"id": "2", "text": "sin fecha", "author": "bob"}\n'
        '{"id": "3", "text": "Gracias Orbita", "author": "eva", "created_at": "2026-01-02T11:00:00+01:00"}\n'
    )
    first = escucha("import", str(data), "--platform", "forum", cwd=workdir)
    assert "mentions.jsonl:2" in first.stderr
    assert "2 new" in first.stdout
    second = escucha("import", str(data), "--platform", "forum", cwd=workdir)
    assert "nothing to do" in second.stdout
    stats = json.loads(escucha("stats", "--json", cwd=workdir).stdout)
    assert stats["mentions"] == 2
    assert stats["outbox"] == {"pending": 0, "sent": 0, "failed": 0}


def test_one_shot_commands_refuse_while_the_service_holds_the_database(workdir):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, time; c = duckdb.connect('escucha.duckdb'); "
         "print('ready', flush=True); time.sleep(60)"],
        cwd=workdir, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        done = escucha("stats", "--json", cwd=workdir, check=False)
    finally:
        holder.kill()
    assert done.returncode == 1
    assert "in use by another process" in done.stderr and "escucha serve" in done.stderr


def test_run_once_rejects_an_unknown_source(workdir):
    done = escucha("run", "--once", "--source", "nope", cwd=workdir, check=False)
    assert done.returncode == 1 and "no source named 'nope'" in done.stderr


def test_classify_follows_the_contract_and_names_a_bad_line(tmp_path):
    out = tmp_path / "out.jsonl"
    escucha("classify", str(ROWS), "-o", str(out), cwd=tmp_path)
    inputs = [json.loads(line) for line in ROWS.read_text().splitlines()]
    outputs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [o["id"] for o in outputs] == [i["id"] for i in inputs]
    for line in outputs:
        assert set(line) == {"id", "lang", "sentiment", "complaint", "intent", "urgency"}
        scores = line["sentiment"]["scores"]
        assert set(scores) == {"negative", "neutral", "positive"}
        assert abs(sum(scores.values()) - 1) < 1e-3
        assert line["sentiment"]["label"] == max(scores, key=scores.get)
        assert 0 <= line["complaint"]["score"] <= 1
        assert line["intent"]["label"] in {"complaint", "question", "praise", "suggestion", "other"}
        assert line["urgency"]["level"] in {0, 1, 2, 3}
        assert 0 <= line["urgency"]["score"] <= 1
    by_id = {o["id"]: o for o in outputs}
    assert by_id["es-gas"]["urgency"]["level"] == 3
    assert by_id["es-gas"]["lang"] == "es" and by_id["en-outage"]["lang"] == "en"

    bad = tmp_path / "bad.jsonl"
    bad.write_text(ROWS.read_text().splitlines()[0] + "\n{not json\n")
    failed = escucha(
        "classify", str(bad), "-o", str(tmp_path / "o2.jsonl"), cwd=tmp_path, check=False
    )
    assert failed.returncode == 1 and "bad.jsonl:2" in failed.stderr
    assert not (tmp_path / "o2.jsonl").exists()  # never half-written
    skipped = escucha(
        "classify", str(bad), "-o", str(tmp_path / "o3.jsonl"), "--on-error", "skip", cwd=tmp_path
    )
    assert "skipped" in skipped.stderr
    assert len((tmp_path / "o3.jsonl").read_text().splitlines()) == 1


def test_import_with_score_leaves_nothing_unscored(workdir):
    data = workdir / "mentions.jsonl"
    data.write_text(
        '{"id": "1", "text": "Orbita lleva tres días sin fibra", "author": "ana", "created_at": "2026-01-02T10:00:00Z"}\n'
        '{"id": "2", "text": "Thanks Orbita, all fixed", "author": "bob", "created_at": "2026-01-02T11:00:00Z"}\n'
    )
    escucha("import", str(data), "--platform", "forum", "--score", cwd=workdir)
    import duckdb

    with duckdb.connect(str(workdir / "escucha.duckdb"), read_only=True) as db:
        stages = dict(db.execute("SELECT stage, count(*) FROM mentions GROUP BY 1").fetchall())
        sentiments = db.execute(
            "SELECT m.native_id, s.sentiment FROM mentions m JOIN current_scores s"
            " ON s.mention_key = m.key ORDER BY 1"
        ).fetchall()
    assert "new" not in stages and sum(stages.values()) == 2
    assert [native for native, _ in sentiments] == ["1", "2"]


def _classify_stderr(tmp_path: Path, name: str, **env: str) -> tuple[str, str]:
    """Run `escucha classify` on the sample with stderr captured, as a pipe with ``env`` set."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"CI", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR"}
    }
    out = tmp_path / f"{name}.jsonl"
    done = subprocess.run(
        [*ESCUCHA, "classify", str(ROWS), "-o", str(out), "--batch-size", "2"],
        cwd=tmp_path,
        env={**base, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", "TERM": "xterm", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stderr, out.read_text()


def test_classify_shows_progress_on_a_terminal_only(tmp_path):
    lines = len(ROWS.read_text().splitlines())
    piped, expected = _classify_stderr(tmp_path, "piped")
    assert piped == f"classified {lines} lines\n"  # nothing else in a pipe
    in_ci, _ = _classify_stderr(tmp_path, "ci", CI="true", FORCE_COLOR="1")
    assert re.sub(r"\x1b\[[0-9;]*m", "", in_ci) == piped  # CI stays quiet where colour is forced
    # rich treats the stream as a terminal (what a person at a shell has)
    shown, results = _classify_stderr(tmp_path, "tty", TTY_COMPATIBLE="1")
    assert "classifying" in shown and "texts/s" in shown
    assert f"{lines:,} texts" in shown
    assert results == expected  # the output contract does not change with the bar


def test_serve_on_a_network_address_says_what_guards_it(capsys):
    from pipeline.cli import _check_bind

    _check_bind("127.0.0.1")
    assert capsys.readouterr().err == ""
    _check_bind("0.0.0.0")
    said = capsys.readouterr().err
    assert "Listening on 0.0.0.0" in said and "sign-in" in said and "TLS" in said


def test_people_are_managed_from_the_command_line_and_audited(workdir):
    added = escucha("users", "add", "Lucia", "--role", "agent", "--team", "atencion-es",
                    cwd=workdir).stdout  # fmt: skip
    assert "added lucia (agent)" in added
    password = re.search(r"password: (\S+)", added).group(1)
    assert len(password) >= 12
    unknown = escucha("users", "add", "x1", "--team", "nope", cwd=workdir, check=False)
    assert unknown.returncode == 1 and "unknown team nope" in unknown.stderr
    twice = escucha("users", "add", "lucia", cwd=workdir, check=False)
    assert twice.returncode == 1 and "already exists" in twice.stderr
    escucha("users", "disable", "lucia", cwd=workdir)
    listed = escucha("users", "list", cwd=workdir).stdout
    assert "lucia" in listed and "disabled" in listed and "atencion-es" in listed
    reset = escucha("users", "reset", "lucia", cwd=workdir).stdout
    assert re.search(r"password: (\S+)", reset).group(1) != password
    token = escucha("users", "token", "lucia", "--label", "ci", "--role", "admin", cwd=workdir,
                    check=False)  # fmt: skip
    assert token.returncode == 1 and "above yours" in token.stderr
    log = escucha("audit", "--json", cwd=workdir).stdout
    actions = [json.loads(line)["action"] for line in log.splitlines() if line.startswith("{")]
    assert actions == ["user.password", "user.change", "user.add"]
    assert password not in log


def test_privacy_requests_from_the_command_line(workdir):
    data = workdir / "mentions.jsonl"
    data.write_text(
        '{"id": "1", "text": "Orbita sin fibra en Vallecas", "author": "ana", "created_at": "2026-01-02T10:00:00Z"}\n'
        '{"id": "2", "text": "Gracias Orbita", "author": "eva", "created_at": "2026-01-02T11:00:00Z"}\n'
    )  # fmt: skip
    escucha("import", str(data), "--platform", "forum", cwd=workdir)
    exported = workdir / "ana.json"
    escucha("privacy", "export", "--author", "forum:ana", "--out", str(exported), cwd=workdir)
    document = json.loads(exported.read_text())
    assert "Vallecas" in exported.read_text() and "Gracias" not in exported.read_text()
    assert document["summary"]
    refused = escucha("privacy", "erase", "--author", "forum:ana", cwd=workdir, check=False)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    erased = escucha("privacy", "erase", "--author", "forum:ana", "--yes", cwd=workdir).stdout
    assert "ana" not in erased and "Vallecas" not in erased
    again = escucha("privacy", "export", "--author", "forum:ana", cwd=workdir, check=False)
    assert again.returncode == 1 and "Traceback" not in again.stderr
    stats = json.loads(escucha("stats", "--json", cwd=workdir).stdout)
    assert stats["mentions"] == 2  # the counts survive the erasure
    log = escucha("audit", "--json", cwd=workdir).stdout
    assert "privacy.erase" in log and "ana" not in log.replace("cli:", "")


def test_the_demo_makes_an_admin_an_agent_and_an_analyst_once_and_keeps_their_sign_ins(tmp_path):
    from pipeline.access import users
    from pipeline.cli import _demo_sign_ins
    from pipeline.records import utcnow
    from pipeline.settings import AuthSettings, load_settings
    from pipeline.store import Store
    from tests.conftest import EXAMPLE

    settings = load_settings(EXAMPLE).model_copy(update={"database": tmp_path / "demo.duckdb"})
    first = _demo_sign_ins(settings, tmp_path)
    assert [(name, role) for name, role, _ in first] == [
        ("admin", "admin"),
        ("lucia", "agent"),
        ("marca", "analyst"),
    ]
    saved = tmp_path / "sign-ins.txt"
    assert saved.stat().st_mode & 0o777 == 0o600  # the owner's only
    assert _demo_sign_ins(settings, tmp_path) == first  # the second run changes nothing
    with Store.open(settings.database) as store:
        for name, _, password in first:
            user = users.authenticate(store, AuthSettings(), name, password, now=utcnow())
            assert user["name"] == name
        assert users.get(store, "lucia")["teams"] == ["atencion-es"]


def test_classify_verbose_says_which_numeric_path_runs_and_why(tmp_path):
    env = {**os.environ, "ESCUCHA_MODEL__PRECISION": "fp32"}
    done = subprocess.run(
        [*ESCUCHA, "classify", str(ROWS), "-o", str(tmp_path / "out.jsonl"), "--verbose"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    assert "precision fp32: set by model.precision" in done.stderr
    assert "cpu flags:" in done.stderr
    chosen = subprocess.run(
        [*ESCUCHA, "classify", str(ROWS), "-o", str(tmp_path / "auto.jsonl"), "--verbose"],
        cwd=tmp_path, env={**os.environ}, capture_output=True, text=True, timeout=300,
        check=True,
    )  # fmt: skip
    assert re.search(r"precision (fp32|bf16): ", chosen.stderr)
    assert "set by model.precision" not in chosen.stderr  # auto: chosen by the probe or flags
