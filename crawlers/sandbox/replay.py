"""The replay clock: maps corpus offsets to real times around a fixed epoch.

Mentions up to the ``history`` share of the corpus are placed in the past, one corpus second per
real second, ending at the epoch (charts get days of history at first start). The rest streams in
after the epoch at ``speed`` corpus seconds per real second. The epoch is fixed once and kept in
``replay.json`` in the state folder (and in every cursor), so a restart resumes exactly.
"""

from __future__ import annotations

import json
import logging
import math
import os
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pipeline.errors import InputError, SourceError
from pipeline.records import utc

logger = logging.getLogger(__name__)

STATE_NAME = "replay.json"


@dataclass(frozen=True, slots=True)
class Timeline:
    """Corpus offsets (sorted) placed around ``epoch``."""

    epoch: datetime
    split_offset: float  # the corpus offset shown at the epoch: the newest history mention
    speed: float  # corpus seconds per real second after the epoch

    @classmethod
    def build(
        cls, offsets: Sequence[float], epoch: datetime, speed: float, history: float
    ) -> Timeline:
        if not offsets:
            raise ValueError("an empty corpus has no timeline")
        last_history = min(max(math.ceil(history * len(offsets)) - 1, 0), len(offsets) - 1)
        return cls(epoch=utc(epoch), split_offset=offsets[last_history], speed=speed)

    def at(self, offset: float) -> datetime:
        """The real time a mention at ``offset`` appears (and its ``created_at``)."""
        if offset <= self.split_offset:
            return self.epoch - timedelta(seconds=self.split_offset - offset)
        return self.epoch + timedelta(seconds=(offset - self.split_offset) / self.speed)

    def horizon(self, now: datetime) -> float:
        """The largest corpus offset whose mentions have appeared by ``now``."""
        elapsed = (utc(now) - self.epoch).total_seconds()
        if elapsed <= 0:
            return self.split_offset + elapsed
        return self.split_offset + elapsed * self.speed

    def due(self, offsets: Sequence[float], now: datetime) -> int:
        """How many of the sorted ``offsets`` have appeared by ``now``."""
        return bisect_right(offsets, self.horizon(now))


def load_or_fix_epoch(folder: Path, now: datetime) -> datetime:
    """The epoch stored in ``folder/replay.json``; written as ``now`` on the very first start."""
    path = folder / STATE_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return parse_epoch(data["epoch"], where=str(path))
    except FileNotFoundError:
        pass
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"damaged replay state ({exc})",
            path=str(path),
            hint="delete the file to restart the replay from now",
        ) from exc
    except OSError as exc:
        raise SourceError(f"cannot read {path} ({exc})", platform="sandbox") from exc
    epoch = utc(now).replace(microsecond=0)
    tmp = path.with_suffix(".json.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump({"epoch": epoch.isoformat()}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except OSError as exc:
        raise SourceError(
            f"cannot write {path} ({exc})",
            platform="sandbox",
            hint="make the sandbox state folder writable, or set its state_dir option",
        ) from exc
    logger.info("sandbox replay starts now", extra={"epoch": epoch.isoformat()})
    return epoch


def parse_epoch(value: object, *, where: str) -> datetime:
    if not isinstance(value, str):
        raise InputError(f"the replay epoch must be an ISO 8601 string, not {value!r}", path=where)
    try:
        return utc(datetime.fromisoformat(value))
    except ValueError as exc:
        raise InputError(f"bad replay epoch {value!r} ({exc})", path=where) from exc
