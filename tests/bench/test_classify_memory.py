"""`escucha classify` streams: peak memory on 100,000 lines stays where it was on 10,000."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.bench, pytest.mark.timeout(3600)]

TEXTS = [
    "Orbita lleva {n} horas sin fibra en mi barrio, ¿alguna solución?",
    "Thanks Orbita, the new router works great after {n} days",
    "El técnico vino {n} veces y sigue sin funcionar el móvil",
    "Is there an outage? Orbita down for {n} hours in Valencia",
    "Me han cobrado {n} euros de más en la factura de Orbita",
]


def run(lines: int, tmp_path) -> tuple[float, float]:
    rng = random.Random(lines)
    source = tmp_path / f"in-{lines}.jsonl"
    with source.open("w") as handle:
        for i in range(lines):
            text = rng.choice(TEXTS).format(n=rng.randint(1, 99))
            handle.write(json.dumps({"id": str(i), "text": text}) + "\n")
    started = time.perf_counter()
    code = (
        "import resource, sys\n"
        "from pipeline.cli import app\n"
        "try:\n    app()\nexcept SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n"
        "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "classify", str(source), "-o", str(tmp_path / "out.jsonl")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    peak_kb = float(done.stderr.split("PEAK")[-1].split()[0])
    with (tmp_path / "out.jsonl").open() as handle:
        assert sum(1 for _ in handle) == lines
    return peak_kb / 1024, elapsed


def test_classify_memory_is_flat_from_10k_to_100k_lines(tmp_path):
    small_mb, small_s = run(10_000, tmp_path)
    large_mb, large_s = run(100_000, tmp_path)
    print(
        f"\nclassify 10,000 lines: peak {small_mb:.0f} MB, {10_000 / small_s:.0f} lines/s"
        f"\nclassify 100,000 lines: peak {large_mb:.0f} MB, {100_000 / large_s:.0f} lines/s"
    )
    assert large_mb < small_mb + 100, "memory grows with the input: classify is not streaming"
