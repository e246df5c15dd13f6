"""Reading instances: the benchmark format and the general conflict-graph format.

Benchmark (shared/benchmarks/dsa): {"name", "source", "alignment",
"buffers": [{"id", "size", "start", "end"}]}, inclusive operator intervals.
General: {"name"?, "alignment"?, "buffers": [{"id", "size", "windows": [[s, e], ...],
"alignment"?}], "conflicts"?: [[id, id], ...]}. Both may be mixed per buffer; ids may be
numbers or strings and are kept as strings.
MiniMalloc CSV (NAME.csv, e.g. its published benchmarks/asplos2024/A.1048576.csv): a header
naming id|buffer|buffer_id, lower|start|begin, upper|end, size and optionally alignment.
Lifetimes are half-open [lower, upper): the published "start,end" instances only fit their
capacity that way (read as inclusive, A.1048576 would need 1.6 MiB at its busiest point).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from crewrite.packing.graph import validate
from crewrite.packing.model import Buffer, Problem


class InstanceError(ValueError):
    """An instance file that cannot be read or describes an impossible problem."""


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    return value


def _buffer(raw: Any, position: int) -> Buffer:
    if not isinstance(raw, dict) or "id" not in raw or "size" not in raw:
        raise ValueError(f"buffer #{position} must be an object with 'id' and 'size'")
    bid = str(raw["id"])
    size = _int(raw["size"], f"buffer {bid!r}: size")
    if "windows" in raw:
        if not isinstance(raw["windows"], list):
            raise ValueError(f"buffer {bid!r}: 'windows' must be a list of [start, end]")
        pairs = raw["windows"]
    elif "start" in raw and "end" in raw:
        pairs = [[raw["start"], raw["end"]]]
    else:
        raise ValueError(f"buffer {bid!r}: needs 'windows' or 'start' and 'end'")
    windows = []
    for pair in pairs:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError(f"buffer {bid!r}: window {pair!r} is not [start, end]")
        windows.append(
            (_int(pair[0], f"buffer {bid!r}: start"), _int(pair[1], f"buffer {bid!r}: end"))
        )
    alignment = _int(raw.get("alignment", 1), f"buffer {bid!r}: alignment")
    return Buffer(id=bid, size=size, windows=tuple(windows), alignment=alignment)


def parse_instance(data: Any, name: str = "") -> Problem:
    """Build and validate a Problem from decoded JSON; raises ValueError on bad content."""
    if not isinstance(data, dict) or not isinstance(data.get("buffers"), list):
        raise ValueError("top level must be an object with a 'buffers' list")
    buffers = tuple(_buffer(raw, k) for k, raw in enumerate(data["buffers"]))
    conflicts = []
    for pair in data.get("conflicts", []):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError(f"conflict {pair!r} is not a pair of ids")
        conflicts.append((str(pair[0]), str(pair[1])))
    problem = Problem(
        buffers=buffers,
        alignment=_int(data.get("alignment", 16), "alignment"),
        extra_conflicts=tuple(conflicts),
        name=str(data.get("name", name)),
    )
    validate(problem)
    return problem


CSV_COLUMNS = {
    "id": "id",
    "buffer": "id",
    "buffer_id": "id",
    "lower": "lower",
    "start": "lower",
    "begin": "lower",
    "upper": "upper",
    "end": "upper",
    "size": "size",
    "alignment": "alignment",
}


def parse_csv(text: str, name: str = "") -> Problem:
    """A Problem from MiniMalloc's CSV format; raises ValueError naming the bad line."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ValueError("empty CSV: expected a header such as id,lower,upper,size")
    header = [CSV_COLUMNS.get(h.strip().lower(), h.strip()) for h in rows[0]]
    missing = {"id", "lower", "upper", "size"} - set(header)
    if missing:
        raise ValueError(f"CSV header lacks {sorted(missing)} (has {rows[0]})")
    at = {column: k for k, column in enumerate(header)}
    buffers = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != len(header):
            raise ValueError(f"line {line}: {len(row)} fields, the header has {len(header)}")
        try:
            lower, upper, size = (int(row[at[c]]) for c in ("lower", "upper", "size"))
            alignment = int(row[at["alignment"]]) if "alignment" in at else 1
        except ValueError as exc:
            raise ValueError(f"line {line}: not an integer: {exc}") from exc
        if upper <= lower:
            raise ValueError(f"line {line}: lifetime [{lower}, {upper}) is empty")
        buffers.append(Buffer(row[at["id"]].strip(), size, ((lower, upper - 1),), alignment))
    problem = Problem(buffers=tuple(buffers), alignment=1, name=name)
    validate(problem)
    return problem


def load_instance(path: str | Path) -> Problem:
    """Read an instance file; raises InstanceError naming the file and the reason."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise InstanceError(f"{path}: cannot read: {reason}") from exc
    if path.suffix.lower() == ".csv":
        try:
            return parse_csv(text, name=path.stem)
        except ValueError as exc:
            raise InstanceError(f"{path}: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InstanceError(f"{path}: invalid JSON: {exc}") from exc
    try:
        return parse_instance(data, name=path.stem)
    except ValueError as exc:
        raise InstanceError(f"{path}: {exc}") from exc
