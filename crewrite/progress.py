"""A progress line on a terminal: which stage crewrite is in, and on which file.

Stages report themselves with `stage(name, file)`, which costs a variable assignment when
nobody listens. The command line listens (`shown_on`) only when stderr is a terminal, and
the line appears only once a run has taken more than a second, rewritten in place and
erased at the end, so quick runs, pipes and logs see nothing of it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_current = ""


def stage(name: str, file: str = "") -> None:
    """Say what crewrite is doing now (`parsing`, `default_lib1.c`)."""
    global _current
    _current = f"{name} {file}".strip()


@contextmanager
def shown_on(stream: TextIO, delay: float = 1.0, every: float = 0.1) -> Iterator[None]:
    """While the body runs, keep a line on `stream` saying the current stage, from `delay`
    seconds on, if `stream` is a terminal; erase it at the end."""
    if not stream.isatty():
        yield
        return
    done = threading.Event()
    shown = ""

    def show() -> None:
        nonlocal shown
        if done.wait(delay):
            return
        while True:
            text = f"crewrite: {_current}"[:79] if _current else ""
            if text != shown:
                stream.write("\r\x1b[K" + text)
                stream.flush()
                shown = text
            if done.wait(every):
                return

    stage("starting")
    thread = threading.Thread(target=show, name="crewrite-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        if shown:
            stream.write("\r\x1b[K")
            stream.flush()
        stage("")
