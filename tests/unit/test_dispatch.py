"""Precision dispatch: CPU flags read from /proc/cpuinfo, and the choice made from probe figures."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classifiers.dispatch import (
    MIN_AGREEMENT,
    CpuFeatures,
    Decision,
    Trial,
    agreement,
    choose,
    decide,
    detect_cpu,
    parse_cpuinfo,
)

# Abridged from a Sapphire Rapids host (two logical CPUs) and from a CPU without AMX or BF16.
SAPPHIRE_RAPIDS = """\
processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: fpu vme sse sse2 avx avx2 fma avx512f avx512bw avx512_vnni avx512_bf16 amx_bf16 \
avx512_fp16 amx_tile amx_int8 arch_capabilities
bugs\t\t: spectre_v1

processor\t: 1
vendor_id\t: GenuineIntel
flags\t\t: fpu vme sse sse2 avx avx2 fma avx512f avx512bw avx512_vnni avx512_bf16 amx_bf16 \
avx512_fp16 amx_tile amx_int8 arch_capabilities
"""
CASCADE_LAKE = """\
processor\t: 0
flags\t\t: fpu sse sse2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni
"""
GRAVITON = """\
processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp bf16
"""

AMX = CpuFeatures(frozenset({"amx_bf16", "amx_tile", "amx_int8", "avx512_bf16", "avx2"}))
AVX512_BF16 = CpuFeatures(frozenset({"avx512_bf16", "avx512_vnni", "avx2"}))
NO_BF16 = CpuFeatures(frozenset({"avx512_vnni", "avx2"}))
SAME = {"sentiment": 1.0, "complaint": 1.0, "urgency": 1.0}


def _trials(bf16_seconds: float, **agree: float) -> list[Trial]:
    return [Trial("fp32", 1.0, SAME), Trial("bf16", bf16_seconds, {**SAME, **agree})]


def test_cpuinfo_flags_of_an_amx_cpu() -> None:
    assert parse_cpuinfo(SAPPHIRE_RAPIDS) == {
        "amx_bf16",
        "amx_tile",
        "amx_int8",
        "avx512_bf16",
        "avx512_vnni",
        "avx2",
    }


def test_cpuinfo_keeps_only_flags_every_processor_has() -> None:
    mixed = SAPPHIRE_RAPIDS.split("\n\n")[0] + "\n\n" + CASCADE_LAKE  # big and little cores
    assert parse_cpuinfo(mixed) == {"avx512_vnni", "avx2"}


def test_cpuinfo_without_x86_flags_has_none() -> None:
    assert parse_cpuinfo(GRAVITON) == frozenset()
    assert parse_cpuinfo("") == frozenset()


def test_detect_cpu_reads_the_given_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(CASCADE_LAKE, encoding="utf-8")
    cpu = detect_cpu(cpuinfo)
    assert cpu.flags == {"avx512_vnni", "avx2"}
    assert not cpu.native_bf16
    assert cpu.source == str(cpuinfo)


def test_no_native_bf16_stays_fp32_without_probing() -> None:
    decision = choose("auto", NO_BF16)
    assert decision.precision == "fp32"
    assert decision.reason == "precision fp32: no AMX or AVX-512 BF16, bf16 not probed"


def test_amx_and_a_fast_agreeing_probe_pick_bf16() -> None:
    decision = choose("auto", AMX, _trials(1 / 2.7))
    assert decision.precision == "bf16"
    assert (
        decision.reason == "precision bf16: amx_bf16 present, probe 2.7x fp32, labels 100% = fp32"
    )


def test_bf16_slower_than_fp32_is_not_picked() -> None:
    decision = choose("auto", AVX512_BF16, _trials(1 / 0.6))
    assert decision.precision == "fp32"
    assert decision.reason == "precision fp32: avx512_bf16 (no AMX); bf16 probe 0.6x fp32"


def test_a_gain_within_timing_noise_is_not_worth_switching() -> None:
    assert choose("auto", AMX, _trials(1 / 1.2)).precision == "fp32"
    assert choose("auto", AMX, _trials(1 / 1.3)).precision == "bf16"


def test_fast_bf16_that_flips_labels_is_not_picked_and_the_reason_names_the_output() -> None:
    decision = choose("auto", AMX, _trials(0.35, complaint=0.975))
    assert decision.precision == "fp32"
    assert "97.5% of complaint labels" in decision.reason
    assert "2.9x fp32" in decision.reason


def test_exactly_the_gate_passes_and_the_reason_does_not_round_it_up() -> None:
    decision = choose("auto", AMX, _trials(0.5, urgency=MIN_AGREEMENT))
    assert decision.precision == "bf16"
    assert decision.reason.endswith("labels 99.0% = fp32")


def test_without_probe_figures_auto_stays_fp32() -> None:
    assert choose("auto", AMX, []).precision == "fp32"
    assert choose("auto", AMX, [Trial("bf16", 0.1, SAME)]).precision == "fp32"  # no fp32 base


@pytest.mark.parametrize("precision", ["fp32", "bf16", "int8"])
def test_an_explicit_setting_overrides_the_probe(precision: str) -> None:
    decision = choose(precision, AMX, _trials(0.3))
    assert decision.precision == precision
    assert decision.reason.startswith(f"precision {precision}: set by model.precision")


def test_explicit_bf16_on_a_cpu_without_it_warns_in_the_reason() -> None:
    decision = choose("bf16", NO_BF16)
    assert decision.precision == "bf16"
    assert "emulated and slow" in decision.reason


def test_decision_lists_flags_in_a_stable_order() -> None:
    assert choose("auto", AMX).cpu_flags == (
        "amx_bf16",
        "amx_tile",
        "amx_int8",
        "avx512_bf16",
        "avx2",
    )


def test_agreement_per_output() -> None:
    reference = [("negative", True, 3), ("positive", False, 0), ("neutral", False, 1)] * 2
    labels = [("negative", True, 3), ("positive", True, 0), ("neutral", False, 2)] * 2
    got = agreement(reference, labels, ("sentiment", "complaint", "urgency"))
    assert got == {
        "sentiment": 1.0,
        "complaint": pytest.approx(2 / 3),
        "urgency": pytest.approx(2 / 3),
    }


@given(
    speedup=st.floats(0.1, 10.0),
    shares=st.tuples(*(st.floats(0.0, 1.0) for _ in range(3))),
)
def test_auto_never_picks_a_path_below_the_agreement_gate(
    speedup: float, shares: tuple[float, float, float]
) -> None:
    agree = dict(zip(("sentiment", "complaint", "urgency"), shares, strict=True))
    decision = choose("auto", AMX, [Trial("fp32", 1.0, SAME), Trial("bf16", 1 / speedup, agree)])
    if decision.precision == "bf16":
        assert min(shares) >= MIN_AGREEMENT
        assert speedup > 1.0
    else:
        assert decision.precision == "fp32"


class FakeModel:
    """Stands in for the classifier's probe: fixed labels and seconds per precision."""

    def __init__(self, seconds: dict[str, float], flips: int = 0) -> None:
        self.seconds = seconds
        self.flips = flips
        self.calls: list[str] = []

    def labels(self, precision: str) -> list[tuple[object, ...]]:
        self.calls.append(precision)
        labels: list[tuple[object, ...]] = [("neutral", False, 0)] * 100
        if precision != "fp32":
            labels[: self.flips] = [("negative", False, 0)] * self.flips
        return labels

    def timed(self, precision: str) -> float:
        self.calls.append(precision)
        return self.seconds[precision]


_keys = itertools.count()


def _decide(model: FakeModel, requested: str, cpu: CpuFeatures) -> Decision:
    outputs = ("sentiment", "complaint", "urgency")
    return decide(requested, model.labels, model.timed, outputs, key=(next(_keys),), cpu=cpu)


def test_decide_probes_and_picks_the_faster_agreeing_path() -> None:
    model = FakeModel({"fp32": 0.9, "bf16": 0.3})
    decision = _decide(model, "auto", AMX)
    assert decision.precision == "bf16"
    assert "probe 3.0x fp32" in decision.reason


def test_decide_accepts_one_flip_in_a_hundred_but_not_two() -> None:
    one_flip = _decide(FakeModel({"fp32": 0.9, "bf16": 0.3}, flips=1), "auto", AMX)
    assert one_flip.precision == "bf16"
    decision = _decide(FakeModel({"fp32": 0.9, "bf16": 0.3}, flips=2), "auto", AMX)
    assert decision.precision == "fp32"
    assert "98.0% of sentiment labels" in decision.reason


def test_decide_does_not_probe_an_explicit_setting_or_a_cpu_without_bf16() -> None:
    model = FakeModel({"fp32": 0.9, "bf16": 0.3})
    assert _decide(model, "fp32", AMX).precision == "fp32"
    assert _decide(model, "auto", NO_BF16).precision == "fp32"
    assert model.calls == []


def test_decide_caches_the_decision_per_key() -> None:
    model = FakeModel({"fp32": 0.9, "bf16": 0.3})
    outputs = ("sentiment",)
    first = decide("auto", model.labels, model.timed, outputs, key=("cache-test",), cpu=AMX)
    probed = len(model.calls)
    second = decide("auto", model.labels, model.timed, outputs, key=("cache-test",), cpu=AMX)
    assert second is first
    assert len(model.calls) == probed > 0


def test_a_failing_probe_falls_back_to_fp32_and_says_so() -> None:
    def broken(precision: str) -> list[tuple[object, ...]]:
        if precision == "bf16":
            raise RuntimeError("no bf16 kernel")
        return [("neutral",)]

    decision = decide("auto", broken, lambda p: 1.0, ("sentiment",), key=("broken",), cpu=AMX)
    assert decision.precision == "fp32"
    assert decision.reason == "precision fp32: bf16 probe failed (no bf16 kernel)"


def test_verbose_line_says_precision_reason_and_flags() -> None:
    from classifiers.cli import precision_line

    class Loaded:
        version = "escucha-minilm@2"
        precision = "fp32"
        precision_reason = "precision fp32: avx512_bf16 (no AMX); bf16 probe 0.6x fp32"
        cpu_flags = ("avx512_bf16", "avx2")

    assert precision_line(Loaded()) == (
        "model escucha-minilm@2: precision fp32: avx512_bf16 (no AMX); bf16 probe 0.6x fp32 "
        "(cpu flags: avx512_bf16 avx2)"
    )
