"""Which numeric path the classifier runs on this CPU (fp32, bf16, int8), and a one-line reason.

The decision for ``model.precision = "auto"`` is :func:`choose`, a pure function of the CPU's
features and a short probe's measured times and label agreement; :func:`decide` runs the probe
(only where the CPU has native bf16: AMX or AVX-512 BF16) and caches the answer per process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import ClassifierError

logger = logging.getLogger(__name__)

PRECISIONS = ("fp32", "bf16", "int8")
FLAGS = ("amx_bf16", "amx_tile", "amx_int8", "avx512_bf16", "avx512_vnni", "avx2")
BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # native bf16 arithmetic; without them bf16 is emulated
AUTO_CANDIDATES = ("bf16",)  # int8 stays opt-in: 90-96 % label agreement with fp32, below the gate
MIN_AGREEMENT = 0.99  # share of each output's labels equal to fp32's
# A candidate must beat fp32 by this much: on a busy 2-core machine single probe passes of a path
# that is 0.6x fp32 when idle measured anywhere from 0.6x to 1.3x. AMX bf16 is about 2.8x.
MIN_SPEEDUP = 1.25
CPUINFO = Path("/proc/cpuinfo")

# torch's private probes, for systems without /proc/cpuinfo (macOS, Windows)
_TORCH_PROBES = {
    "amx_tile": "_is_amx_tile_supported",
    "avx512_bf16": "_is_avx512_bf16_supported",
    "avx512_vnni": "_is_vnni_supported",
    "avx2": "_is_avx2_supported",
}


@dataclass(frozen=True)
class CpuFeatures:
    """The CPU features that decide which precisions run natively."""

    flags: frozenset[str]
    capability: str = ""  # torch.backends.cpu.get_cpu_capability(), e.g. "AVX512"
    source: str = "cpuinfo"

    @property
    def native_bf16(self) -> bool:
        return any(flag in self.flags for flag in BF16_FLAGS)

    @property
    def bf16_via(self) -> str:
        """The feature bf16 runs on, for reasons: "amx_bf16", "avx512_bf16 (no AMX)" or ""."""
        if "amx_bf16" in self.flags:
            return "amx_bf16"
        if "avx512_bf16" in self.flags:
            return "avx512_bf16 (no AMX)"
        return ""

    def describe(self) -> str:
        seen = " ".join(flag for flag in FLAGS if flag in self.flags) or "none of " + "/".join(
            FLAGS
        )
        return f"{seen}; torch capability {self.capability or 'unknown'}"


@dataclass(frozen=True)
class Trial:
    """One precision measured on the probe texts: seconds per pass and labels per output."""

    precision: str
    seconds: float
    agreement: Mapping[str, float] = field(default_factory=dict)  # output -> share equal to fp32

    @property
    def worst(self) -> tuple[str, float]:
        """The output with the lowest agreement (``("", 1.0)`` when none was compared)."""
        if not self.agreement:
            return "", 1.0
        output = min(self.agreement, key=self.agreement.__getitem__)
        return output, self.agreement[output]


@dataclass(frozen=True)
class Decision:
    """The precision to run, why, and the figures behind it."""

    precision: str
    reason: str
    cpu: CpuFeatures
    trials: tuple[Trial, ...] = ()

    @property
    def cpu_flags(self) -> tuple[str, ...]:
        return tuple(flag for flag in FLAGS if flag in self.cpu.flags)


def parse_cpuinfo(text: str) -> frozenset[str]:
    """The flags of :data:`FLAGS` that every processor listed in a /proc/cpuinfo text has."""
    per_cpu = [
        set(line.split(":", 1)[1].split())
        for line in text.splitlines()
        if line.split(":", 1)[0].strip() == "flags" and ":" in line
    ]
    if not per_cpu:
        return frozenset()
    return frozenset(set(FLAGS).intersection(*per_cpu))


def detect_cpu(cpuinfo: Path = CPUINFO) -> CpuFeatures:
    """Read the CPU's features from /proc/cpuinfo where present, else ask torch."""
    import torch

    capability = str(torch.backends.cpu.get_cpu_capability())
    try:
        text = cpuinfo.read_text("utf-8", errors="replace")
    except OSError:
        text = ""
    if "flags" in text:
        return CpuFeatures(parse_cpuinfo(text), capability, source=str(cpuinfo))
    flags = set()
    for flag, probe in _TORCH_PROBES.items():
        check: Any = getattr(torch.cpu, probe, None)
        if check is not None and check():
            flags.add(flag)
    if "amx_tile" in flags:  # torch reports the tile unit; AMX without bf16 does not exist
        flags.update({"amx_bf16", "amx_int8"})
    return CpuFeatures(frozenset(flags), capability, source="torch")


def agreement(
    reference: Sequence[Sequence[object]],
    labels: Sequence[Sequence[object]],
    outputs: Sequence[str],
) -> dict[str, float]:
    """Share of texts whose label for each output equals the reference's."""
    n = max(len(reference), 1)
    return {
        output: sum(r[k] == g[k] for r, g in zip(reference, labels, strict=True)) / n
        for k, output in enumerate(outputs)
    }


def choose(requested: str, cpu: CpuFeatures, trials: Sequence[Trial] = ()) -> Decision:
    """The precision to run given the setting, the CPU and measured trials (fp32 among them).

    Pure: the same numbers give the same answer. An explicit precision wins; "auto" takes the
    fastest candidate at least :data:`MIN_SPEEDUP` times fp32 whose every output agrees with
    fp32 on at least :data:`MIN_AGREEMENT` of the probe texts, else fp32.
    """
    found = tuple(trials)
    if requested in PRECISIONS:
        reason = f"precision {requested}: set by model.precision"
        if requested == "bf16" and not cpu.native_bf16:
            reason += " (this CPU has no AMX or AVX-512 BF16: bf16 is emulated and slow)"
        return Decision(requested, reason, cpu, found)
    if requested != "auto":
        return Decision("fp32", f"precision fp32: unknown model.precision {requested!r}", cpu)
    if not cpu.native_bf16:
        return Decision("fp32", "precision fp32: no AMX or AVX-512 BF16, bf16 not probed", cpu)
    base = next((t for t in found if t.precision == "fp32"), None)
    candidates = [t for t in found if t.precision != "fp32"]
    if base is None or not candidates:
        return Decision(
            "fp32", f"precision fp32: {cpu.bf16_via} present but no probe figures", cpu, found
        )
    notes = []
    passing = []
    for trial in candidates:
        speedup = base.seconds / trial.seconds if trial.seconds > 0 else 0.0
        output, share = trial.worst
        if share < MIN_AGREEMENT:
            notes.append(
                f"{trial.precision} probe {speedup:.1f}x fp32 but {share:.1%} of {output} "
                "labels = fp32"
            )
        elif speedup < MIN_SPEEDUP:
            notes.append(f"{trial.precision} probe {speedup:.1f}x fp32")
        else:
            passing.append((speedup, trial, share))
    if passing:
        speedup, trial, share = max(passing, key=lambda p: p[0])
        return Decision(
            trial.precision,
            f"precision {trial.precision}: {cpu.bf16_via} present, probe {speedup:.1f}x fp32, "
            f"labels {'100%' if share == 1.0 else f'{share:.1%}'} = fp32",
            cpu,
            found,
        )
    return Decision("fp32", f"precision fp32: {cpu.bf16_via}; " + "; ".join(notes), cpu, found)


Labels = Sequence[Sequence[object]]
PROBE_ROUNDS = 4  # timed passes per precision, interleaved; the fastest counts (load is noise)
PROBE_TIMING_BUDGET_S = 1.5  # no further timed round starts after this; two rounds always run

_CACHE: dict[tuple[object, ...], Decision] = {}


def decide(
    requested: str,
    labels: Callable[[str], Labels],
    seconds: Callable[[str], float],
    outputs: Sequence[str],
    *,
    key: tuple[object, ...] = (),
    cpu: CpuFeatures | None = None,
) -> Decision:
    """The decision for ``requested``, probing only where "auto" meets a CPU with native bf16.

    ``labels(precision)`` scores the probe texts in that precision (warming it up) and returns
    each text's labels for ``outputs``; ``seconds(precision)`` times one batch. The passes of the
    precisions alternate and each keeps its fastest, so a burst of other work on the machine
    does not decide. Decisions for "auto" are cached per process by ``key`` (model folder,
    threads, batch size), so loading the model again does not probe again.
    """
    cpu = cpu or detect_cpu()
    if requested != "auto" or not cpu.native_bf16:
        return choose(requested, cpu)
    cache_key = (*key, requested)
    if cache_key in _CACHE:
        return _CACHE[cache_key]
    started = time.perf_counter()
    paths = ("fp32", *AUTO_CANDIDATES)
    trials: list[Trial] = []
    try:
        found = {precision: labels(precision) for precision in paths}
        best = dict.fromkeys(paths, float("inf"))
        timing = time.perf_counter()
        for round_ in range(PROBE_ROUNDS):
            if round_ >= 2 and time.perf_counter() - timing > PROBE_TIMING_BUDGET_S:
                break
            for precision in paths:
                best[precision] = min(best[precision], seconds(precision))
        trials = [
            Trial(precision, best[precision], agreement(found["fp32"], found[precision], outputs))
            for precision in paths
        ]
    except (RuntimeError, ValueError, ClassifierError) as exc:  # a kernel this build lacks
        logger.warning("precision probe failed (%s); using fp32", exc)
        decision = Decision("fp32", f"precision fp32: bf16 probe failed ({exc})", cpu)
    else:
        decision = choose(requested, cpu, trials)
    logger.debug(
        "precision probe took %.2f s",
        time.perf_counter() - started,
        extra={"trials": [(t.precision, round(t.seconds, 4), dict(t.agreement)) for t in trials]},
    )
    _CACHE[cache_key] = decision
    return decision


# Real-length customer texts (about 30 word pieces on average, like the brand set), Spanish and
# English with some Portuguese and French: complaints, praise, questions, calm and urgent.
PROBE_TEXTS = (
    "@Orbita llevo tres días sin internet en casa y nadie me da una solución, es una vergüenza",
    "Gracias Orbita, la instalación fue rapidísima y el técnico muy amable, todo funciona genial",
    "¿Alguien sabe si la tarifa de fibra de Orbita incluye el router o hay que comprarlo aparte?",
    "Me han cobrado dos veces la factura de este mes y en atención al cliente no contestan",
    "Huele a gas en el portal desde que vino el técnico de la compañía, hemos llamado a urgencias",
    "La app del banco no me deja entrar desde esta mañana y tengo que pagar el alquiler hoy",
    "Pedido hecho el lunes, hoy es viernes y sigue sin llegar. El seguimiento no dice nada",
    "Buen servicio en general, aunque la espera en la tienda fue un poco larga",
    "Tienda correcta, aunque tardaron en atenderme",
    "Cambio de compañía la semana que viene, estoy harto de los cortes constantes de luz",
    "El vuelo de esta mañana salió con dos horas de retraso y nadie nos dio ninguna explicación",
    "Por fin han arreglado la avería, ya tengo conexión. Gracias por la rapidez al equipo técnico",
    "¿A qué hora abre la oficina de la calle Mayor los sábados?",
    "Si no me devolvéis el dinero esta semana os denuncio en consumo, ya está bien",
    "El coche nuevo me deja tirado por segunda vez en un mes, el taller dice que no hay piezas",
    "Acabo de ver el anuncio nuevo de Orbita en la tele, muy gracioso",
    "Orbita internet has been down all day for the whole city, still no update from support",
    "Shoutout to the @Orbita tech who came today, super friendly, fixed it in minutes. Love it!",
    "Does Orbita's fibre plan include a router, or do I need to buy my own?",
    "@Orbita you charged me twice this month and nobody answers the phone. Terrible service",
    "There is a strong smell of gas in our building since your engineer left, we had to evacuate",
    "My card was blocked for no reason while I was abroad and I can't reach anyone at the bank",
    "Ordered a week ago, still not delivered, tracking hasn't moved since Monday. Any update?",
    "The new store on Oxford Street is nice but the queue was way too long on Saturday",
    "Flight cancelled at the gate, no hotel, no food vouchers, two kids sleeping on the floor",
    "Honestly the best customer service I've had in years, they sorted my refund in one call",
    "What time does the Oxford Street store open on Sunday?",
    "Third outage this week. If it happens again I'm cancelling my contract and switching",
    "The charger that came with the phone got really hot and started to smoke last night",
    "Just upgraded to the new plan, speeds look about the same as before tbh",
    "App keeps crashing when I try to pay, tried reinstalling twice, still nothing works",
    "Thanks for the quick reply on DM, the technician is coming tomorrow morning",
    "Estou sem internet há dois dias e ninguém do suporte me responde, péssimo atendimento",
    "Adorei o atendimento na loja, muito rápido e a funcionária foi super simpática",
    "Ça fait une semaine que j'attends le technicien, personne ne rappelle, c'est inadmissible",
    "Merci pour la réponse rapide, tout fonctionne à nouveau depuis ce matin",
    "RT @clientes: ¿Os pasa también que la web de Orbita no carga desde ayer por la tarde?",
    "lol the Orbita ad with the dancing router is stuck in my head all day",
    "Reclamación número 4589213: sigo esperando que me llamen para la devolución del aparato",
    "Power has been out on our street for 14 hours and my dad's oxygen machine needs electricity",
)
