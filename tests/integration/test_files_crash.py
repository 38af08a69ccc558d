"""A SIGKILL in the middle of ``escucha import``, then a re-run: nothing lost or duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from pipeline.store import Store

# Storing costs 15-25 ms a row today (statements per mention); raise ROWS when ingest batches.
ROWS = 600
PAGE = 20
KILL_AFTER = 8  # pages
BAD_LINES = {50, 500}

# What the CLI does, with a pause after each stored page so the test can kill it mid-way.
IMPORTER = textwrap.dedent(
    """
    import sys, time
    from crawlers.files import FileImport
    from pipeline.stages.ingest import store_page
    from pipeline.store import Store
    from pipeline.store import mentions as q

    db, path, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
    bad = []
    source = FileImport(
        path, "forum", page_size=int(sys.argv[4]),
        on_bad_row=lambda line, reason: (bad.append(line), print(f"bad {line}", flush=True)),
    )
    new = 0
    with Store.open(db) as store:
        with store.read() as cur:
            cursor = q.get_cursor(cur, source.name)
        resumed = (cursor or {}).get(str(source.path), {}).get("line", 0)
        for page in source.fetch(cursor):
            result = store_page(store, source.name, source.platform, page)
            new += result.new
            print(f"stored {result.new}", flush=True)
            time.sleep(delay)
        print(f"done {resumed} {new} {len(bad)}", flush=True)
    """
)


def _write_rows(path: Path) -> set[str]:
    ids = set()
    with path.open("w", encoding="utf-8") as handle:
        for line in range(1, ROWS + 1):
            if line in BAD_LINES:
                handle.write('{"id": "broken", "text": "no author"}\n')
                continue
            ids.add(f"m{line}")
            row = {
                "id": f"m{line}", "text": f"mensaje {line} sobre Órbita", "author": f"u{line % 97}",
                "created_at": f"2024-03-01T10:{line % 60:02d}:00+01:00", "likes": str(line % 7),
            }  # fmt: skip
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return ids


def _run(script: Path, db: Path, data: Path, delay: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), str(db), str(data), str(delay), str(PAGE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )


def test_sigkill_during_import_then_rerun_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "big.jsonl"
    expected = _write_rows(data)
    script = tmp_path / "importer.py"
    script.write_text(IMPORTER, encoding="utf-8")
    db = tmp_path / "escucha.duckdb"

    victim = _run(script, db, data, delay=0.02)
    assert victim.stdout is not None
    pages = 0
    for line in victim.stdout:
        pages += line.startswith("stored")
        if pages == KILL_AFTER:
            os.kill(victim.pid, signal.SIGKILL)
            break
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL, victim.stderr.read() if victim.stderr else ""

    with Store.open(db) as store, store.read() as cur:
        before = cur.execute("SELECT count(*) FROM mentions").fetchone()[0]
    assert 0 < before < len(expected)

    rerun = _run(script, db, data, delay=0)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    _, resumed, new, bad = out.strip().splitlines()[-1].split()
    assert int(resumed) >= KILL_AFTER * PAGE  # it resumed after the pages stored before the kill
    assert int(new) == len(expected) - before  # and stored only what was missing
    assert int(bad) == 1  # the first bad row was reported before the kill, the second now

    with Store.open(db) as store, store.read() as cur:
        stored = cur.execute("SELECT native_id, count(*) FROM mentions GROUP BY 1").fetchall()
        cursor = json.loads(cur.execute("SELECT cursor FROM source_state").fetchone()[0])
    assert {native_id for native_id, _ in stored} == expected
    assert all(n == 1 for _, n in stored)
    assert cursor[str(data.resolve())]["line"] == ROWS
