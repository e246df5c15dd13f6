"""Seconds spent in each stage of a run, for tools/bench_pipeline.py: off unless the
environment names a file (CREWRITE_STAGE_TIMES=FILE), then written there as JSON when the
process ends. Times are exclusive (a stage nested in another is not counted twice); a stage
run inside the safety check is named `check.<stage>`, so the rows add up to the run."""

from __future__ import annotations

import atexit
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

STAGE_TIMES_ENV = "CREWRITE_STAGE_TIMES"


@dataclass
class _Open:
    label: str
    started: float
    children: float = 0.0  # seconds of the stages run inside it


_seconds: dict[str, float] = {}
_stack: list[_Open] = []
_first: list[float] = []


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Count the time of the block under `name` when stage times are being recorded."""
    if STAGE_TIMES_ENV not in os.environ:
        yield
        return
    outer = _stack[0].label if _stack else None
    label = f"{outer}.{name}" if outer == "check" and name != "check" else name
    started = time.perf_counter()
    if not _first:
        _first.append(started)
        atexit.register(_dump, os.environ[STAGE_TIMES_ENV])
    _stack.append(_Open(label, started))
    try:
        yield
    finally:
        done = _stack.pop()
        spent = time.perf_counter() - started
        _seconds[label] = _seconds.get(label, 0.0) + spent - done.children
        if _stack:
            _stack[-1].children += spent


def _dump(path: str) -> None:
    since = time.perf_counter() - _first[0]
    now = time.time()  # the clock the benchmark shares, to tell start-up and exit apart
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"stages": _seconds, "first_stage_at": now - since, "dumped_at": now}, f)
