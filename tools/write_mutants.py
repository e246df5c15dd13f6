"""Mutants of how the operators of a fixture write their outputs and read their inputs, each
rewritten by crewrite (default liveness) and proven with `crewrite verify` (issue 15).

.venv/bin/python tools/write_mutants.py [--fixture kws_native] [--kind KIND ...] [--limit N]

The kinds are the ways an operator comes to leave part of its output to whatever its storage
held before (a hand edit, another schedule, a TVM bug), and the way a later operator comes to
read it:

- loop_short: a loop around the output's stores runs one iteration less;
- unrolled_store_deleted: the innermost loop around the output's stores unrolled by 2, 4 or
  5, one of the copies deleted (the first or the last);
- store_under_if: an output store guarded by a condition on its index or on the input;
- tail_read: the operator also reads its input up to the whole size of the sid it is handed
  (the tail of an earlier tensor in that sid) and mixes it into its output.

Every mutant also comes in a second variant where the entry clears each sid after allocating
it, so that a partial write leaves zeros instead of memory never written: more mutants whose
outputs do not depend on stale memory.

Each mutant must come out correct: crewrite refuses it, or its rewrite computes exactly what
the mutant computes (verify EQUAL). A mutant that does not build, or whose own outputs depend
on memory it never wrote (verify's two workspace fills disagree), proves nothing and is
counted apart. Exits 1 if any mutant is rewritten wrong.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from crewrite.errors import CrewriteError
from crewrite.output import write_copy
from crewrite.pipeline import Options, rewrite_project
from crewrite.project import load_project
from crewrite.verify import VerifyOptions, verify

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
SOURCE = "model/codegen/host/src/default_lib1.c"

_OPERATOR = re.compile(r"^TVM_DLL int32_t (?P<name>\w+)\((?P<params>[^)]*)\) \{\n", re.MULTILINE)
_LOOP = re.compile(r"for \(int32_t (?P<var>\w+) = 0; (?P=var) < (?P<bound>\d+); \+\+(?P=var)\) \{")
_CALL = re.compile(r"^  if \((?P<op>\w+)\((?P<args>[^;]*)\) != 0 \) return -1;\n", re.MULTILINE)
_SID = re.compile(r"void\* (sid_\d+) = TVMBackendAllocWorkspace\(1, 0, \(uint64_t\)(\d+),")
_SID_CHECK = re.compile(
    r"^  void\* (?P<sid>sid_\d+) = TVMBackendAllocWorkspace\(1, 0, \(uint64_t\)(?P<size>\d+), .*\n"
    r"  if \((?P=sid) == NULL\) \{\n    return -1;\n  \}\n",
    re.MULTILINE,
)

OUTCOMES = ("correct", "refused", "wrong", "mutant does not build", "mutant reads stale memory")


@dataclass(frozen=True)
class Mutant:
    kind: str
    what: str  # which operator, and how it was changed
    text: str  # the new default_lib1.c


@dataclass(frozen=True)
class Operator:
    name: str
    output: str  # the output parameter (the last one)
    output_type: str  # its element type
    start: int  # of the body, in the file's text
    end: int  # just past the closing brace

    def body(self, text: str) -> str:
        return text[self.start : self.end]


def operators(text: str) -> list[Operator]:
    found = []
    for match in _OPERATOR.finditer(text):
        if match.group("name").endswith("___tvm_main__"):
            continue
        last = match.group("params").split(",")[-1].strip()
        ctype, _, name = last.rpartition("*")
        end = text.index("\n}\n", match.end()) + 3
        found.append(Operator(match.group("name"), name.strip(), ctype.strip(), match.end(), end))
    return found


def _block_end(text: str, open_brace: int) -> int:
    """Index just past the brace closing the one at `open_brace`."""
    depth = 0
    for index in range(open_brace, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index + 1
    raise ValueError("unbalanced braces")


def _stores(body: str, output: str) -> list[re.Match[str]]:
    """`OUT[index] = ...;` statements of the body."""
    return list(re.finditer(rf"\b{output}\[(?P<index>[^\]]*)\] = [^;]*;", body))


def _loops_around(body: str, position: int) -> list[tuple[re.Match[str], int]]:
    """Loops (header match, end of the loop) whose body holds `position`, outermost first."""
    out = []
    for loop in _LOOP.finditer(body):
        end = _block_end(body, loop.end() - 1)
        if loop.end() <= position < end:
            out.append((loop, end))
    return out


def _replace(text: str, op: Operator, body: str) -> str:
    return text[: op.start] + body + text[op.end :]


def loop_short(text: str, op: Operator) -> Iterator[Mutant]:
    body = op.body(text)
    seen: set[int] = set()
    for store in _stores(body, op.output):
        for loop, _ in _loops_around(body, store.start()):
            if loop.start() in seen or int(loop.group("bound")) < 2:
                continue
            seen.add(loop.start())
            bound = int(loop.group("bound"))
            header = loop.group(0).replace(f"< {bound};", f"< {bound - 1};")
            new = body[: loop.start()] + header + body[loop.end() :]
            what = f"{op.name}: loop over {loop.group('var')} stops at {bound - 1} of {bound}"
            yield Mutant("loop_short", what, _replace(text, op, new))


def unrolled_store_deleted(text: str, op: Operator) -> Iterator[Mutant]:
    body = op.body(text)
    seen: set[int] = set()
    for store in _stores(body, op.output):
        around = _loops_around(body, store.start())
        if not around:
            continue
        loop, end = around[-1]  # the innermost
        if loop.start() in seen:
            continue
        seen.add(loop.start())
        var, bound = loop.group("var"), int(loop.group("bound"))
        inner = body[loop.end() : end - 1]
        for factor in (2, 4, 5):
            if bound % factor or bound == factor:
                continue
            for deleted in (0, factor - 1):
                copies = "".join(
                    f"{{\n      int32_t {var} = (({var}_u * {factor}) + {j});{inner}}}\n"
                    for j in range(factor)
                    if j != deleted
                )
                header = f"for (int32_t {var}_u = 0; {var}_u < {bound // factor}; ++{var}_u) {{\n"
                new = body[: loop.start()] + header + copies + "    }" + body[end:]
                what = f"{op.name}: loop over {var} unrolled by {factor}, copy {deleted} deleted"
                yield Mutant("unrolled_store_deleted", what, _replace(text, op, new))


def store_under_if(text: str, op: Operator) -> Iterator[Mutant]:
    body = op.body(text)
    conditions = {
        "index % 7 != 3": "((({index}) % 7) != 3)",
        "first input byte odd": "((((int32_t)p0[0]) & 1) != 0)",
    }
    for number, store in enumerate(_stores(body, op.output)):
        for label, condition in conditions.items():
            guard = condition.format(index=store.group("index"))
            new = (
                body[: store.start()] + f"if ({guard}) {{ {store.group(0)} }}" + body[store.end() :]
            )
            what = f"{op.name}: store {number} of {op.output} only if {label}"
            yield Mutant("store_under_if", what, _replace(text, op, new))


def tail_read(text: str, op: Operator, sid_bytes: int) -> Iterator[Mutant]:
    body = op.body(text)
    last = body.rindex("  return 0;\n")
    mix = (
        f"  for (int32_t mutant_tail = 0; mutant_tail < {sid_bytes}; ++mutant_tail) {{\n"
        f"    {op.output}[0] = ({op.output}[0] + ({op.output_type})"
        "(((int8_t*)p0)[mutant_tail] & 1));\n  }\n"
    )
    what = f"{op.name}: also reads p0 up to the sid's {sid_bytes} bytes into {op.output}[0]"
    yield Mutant("tail_read", what, _replace(text, op, body[:last] + mix + body[last:]))


def cleared(text: str) -> str:
    """The entry clears every sid right after allocating it."""

    def clear(match: re.Match[str]) -> str:
        sid, size = match.group("sid"), match.group("size")
        return (
            match.group(0)
            + f"  for (int32_t mutant_z = 0; mutant_z < {size}; ++mutant_z) {{\n"
            + f"    ((int8_t*){sid})[mutant_z] = (int8_t)0;\n  }}\n"
        )

    return _SID_CHECK.sub(clear, text)


def mutants(
    text: str, variants: tuple[str, ...] = ("as generated", "sids cleared")
) -> list[Mutant]:
    """Every mutant of one default_lib1.c, in each variant, in a stable order."""
    out = []
    for variant in variants:
        base = cleared(text) if variant == "sids cleared" else text
        assert base != text or variant == "as generated"
        out += [Mutant(m.kind, f"{m.what} ({variant})", m.text) for m in _mutants_of(base)]
    return out


def _mutants_of(text: str) -> list[Mutant]:
    sids = {name: int(size) for name, size in _SID.findall(text)}
    inputs: dict[str, set[str]] = {}
    for call in _CALL.finditer(text):
        first = call.group("args").split(",")[0].strip()
        inputs.setdefault(call.group("op"), set()).add(first)
    out: list[Mutant] = []
    for op in operators(text):
        if op.name not in inputs:
            continue  # not an operator the entry calls
        out += loop_short(text, op)
        out += unrolled_store_deleted(text, op)
        out += store_under_if(text, op)
        if inputs[op.name] <= set(sids) and "p0" in op.body(text):
            out += tail_read(text, op, max(sids[s] for s in inputs[op.name]))
    return out


KINDS: dict[str, Callable[..., Iterator[Mutant]]] = {
    "loop_short": loop_short,
    "unrolled_store_deleted": unrolled_store_deleted,
    "store_under_if": store_under_if,
    "tail_read": tail_read,
}


def judge(fixture: Path, mutant: Mutant, work: Path, runs: int = 2) -> tuple[str, str]:
    """(outcome, detail): rewrite the mutant with the default liveness, verify it."""
    original = work / "mutant"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(fixture, original)
    (original / SOURCE).write_text(mutant.text)
    project = load_project([original])
    try:
        try:
            result = rewrite_project(project, Options())
        except CrewriteError as exc:
            return "refused", exc.format()
        write_copy(project, result.new_texts, work / "rewritten")
    finally:
        project.close()
    try:
        verdict = verify(original, work / "rewritten", VerifyOptions(runs=runs))
    except CrewriteError as exc:
        return "mutant does not build", exc.format()[:200]
    if verdict.unstable is not None:
        return "mutant reads stale memory", verdict.unstable.describe("fill 1", "fill 2")
    if verdict.ok:
        return "correct", ""
    return "wrong", verdict.text()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fixture", default="kws_native")
    parser.add_argument("--kind", action="append", choices=sorted(KINDS), help="(repeatable)")
    parser.add_argument("--limit", type=int, default=None, help="at most N mutants per kind")
    parser.add_argument("--runs", type=int, default=2, help="seeded inputs per verify")
    parser.add_argument("-v", "--verbose", action="store_true", help="a line per mutant")
    args = parser.parse_args(argv)
    fixture = FIXTURES / args.fixture
    every = mutants((fixture / SOURCE).read_text())
    chosen: list[Mutant] = []
    per_kind: Counter[str] = Counter()
    for mutant in every:
        if args.kind and mutant.kind not in args.kind:
            continue
        if args.limit is not None and per_kind[mutant.kind] >= args.limit:
            continue
        per_kind[mutant.kind] += 1
        chosen.append(mutant)
    table: dict[str, Counter[str]] = {}
    wrong = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="crewrite-mutants-") as scratch:
        for index, mutant in enumerate(chosen):
            outcome, detail = judge(fixture, mutant, Path(scratch) / str(index), args.runs)
            table.setdefault(mutant.kind, Counter())[outcome] += 1
            if outcome == "wrong":
                wrong.append((mutant, detail))
            if args.verbose:
                print(f"{outcome:<26} {mutant.what}", flush=True)
    print(f"\n{args.fixture}: {len(chosen)} mutants in {time.perf_counter() - started:.0f} s\n")
    print("| kind | tried | " + " | ".join(OUTCOMES) + " |")
    print("|---|---:|" + "---:|" * len(OUTCOMES))
    total: Counter[str] = Counter()
    for kind in sorted(table):
        total += table[kind]
        cells = " | ".join(str(table[kind][o]) for o in OUTCOMES)
        print(f"| {kind} | {sum(table[kind].values())} | {cells} |")
    print(f"| all | {sum(total.values())} | " + " | ".join(str(total[o]) for o in OUTCOMES) + " |")
    for mutant, detail in wrong:
        print(f"\nWRONG: {mutant.what}\n{detail}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
