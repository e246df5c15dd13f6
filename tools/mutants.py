"""Mutation fuzzing of crewrite (issue 12): take a fixture, change its generated C the ways
real projects and hand edits go wrong, run crewrite on it, and classify what happened.

Every mutant must come out as a clear refusal (one `crewrite:` line, exit 1), "nothing to
do", or a rewrite whose outputs are byte-equal to the mutant's own on the host, wherever the
mutant builds, runs and does not read stale memory. Anything else is a defect: a silently
wrong rewrite, a rewrite that no longer builds or runs, an internal error, a hang or an
unclear refusal.

Used by tests/fuzz_test.py (144 cases, hypothesis) and tools/fuzz_mutants.py
(larger counts, a table of outcomes).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import random
import re
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from crewrite.errors import CrewriteError
from crewrite.verify import VerifyOptions, build_project, host

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
# Two seeded inputs; a run that takes 20 s has hung.
OPTIONS = VerifyOptions(runs=2, timeout=20.0)

BASES = ("aot_header_sized", "vww_kernels")

GOOD = ("refused", "nothing-to-do", "rewritten-equal", "rewritten-mutant-invalid")
BAD = ("wrong", "broken", "internal-error", "hang", "unclear-refusal")

_ALLOC_LINE = re.compile(
    r"^(?P<indent>[ \t]*)void\* (?P<var>\w+) = (?P<call>TVMBackendAllocWorkspace\(1, \w+, "
    r"\(uint64_t\)(?P<size>\d+), \d+, \d+\));\n"
    r"(?P<check>[ \t]*if \((?P=var) == NULL\) \{\n[ \t]*return -1;\n[ \t]*\}\n)?",
    re.MULTILINE,
)
_FREE_BLOCK = re.compile(
    r"^[ \t]*if \(TVMBackendFreeWorkspace\(1, \w+, (?P<var>\w+)\) != 0\) \{\n"
    r"[ \t]*return -1;\n[ \t]*\}\n",
    re.MULTILINE,
)
_FUNCTION = re.compile(
    r"^(?:TVM_DLL |static inline |static )?int32_t (?P<name>\w+)\((?P<params>[^)]*)\) \{\n",
    re.MULTILINE,
)
_ENTRY_CALL = re.compile(
    r"^  if \((?P<op>\w+)\((?P<args>[^;]*)\) != 0 \) return -1;\n", re.MULTILINE
)


@dataclass(frozen=True)
class Mutant:
    base: str
    kind: str
    choice: int
    what: str  # a line saying which site was changed and how
    files: dict[str, str]  # relative path -> new text


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    outcome: str  # one of GOOD or BAD
    detail: str

    @property
    def good(self) -> bool:
        return self.outcome in GOOD


def _functions(text: str) -> list[tuple[str, str, int, int]]:
    """(name, params, body start, end just past its closing brace) of the functions the
    generator writes."""
    found = []
    for match in _FUNCTION.finditer(text):
        end = text.index("\n}\n", match.end()) + 3
        found.append((match.group("name"), match.group("params"), match.end(), end))
    return found


def _owner(text: str, offset: int) -> tuple[str, str, int, int] | None:
    for fn in _functions(text):
        if fn[2] <= offset < fn[3]:
            return fn
    return None


def _sources(base: Path) -> dict[str, str]:
    return {
        p.relative_to(base).as_posix(): p.read_text()
        for p in sorted(base.rglob("codegen/host/src/*.c"))
    }


def _before_function(text: str, start: int) -> int:
    """Where text can go at file scope right before the function whose body starts at
    `start` (above its `extern "C"` lines)."""
    head = text.rfind("\n", 0, text.rfind("\n", 0, start)) + 1
    guard = '#ifdef __cplusplus\nextern "C"\n#endif\n'
    return head - len(guard) if text[:head].endswith(guard) else head


def mutate(base: str, kind: str, choice: int) -> Mutant | None:
    """One mutant of a fixture, or None when the kind has no site there."""
    rng = random.Random(choice)
    texts = _sources(FIXTURES / base)
    rel = rng.choice([rel for rel, t in texts.items() if _ALLOC_LINE.search(t)])
    site = _Site(texts[rel], rng)
    changed = MUTATIONS[kind](site)
    if changed is None:
        return None
    new, what = changed
    return Mutant(base, kind, choice, f"{rel}: {what}", {rel: new})


class _Site:
    """One source file to mutate, with its allocs and frees found and one alloc drawn."""

    def __init__(self, text: str, rng: random.Random):
        self.text, self.rng = text, rng
        self.allocs = list(_ALLOC_LINE.finditer(text))
        self.frees = list(_FREE_BLOCK.finditer(text))
        self.alloc = rng.choice(self.allocs)
        self.var = self.alloc.group("var")
        self.line = text.count("\n", 0, self.alloc.start()) + 1

    def cut(self, start: int, end: int, insert: str = "") -> str:
        return self.text[:start] + insert + self.text[end:]


Change = tuple[str, str] | None  # (new text, what was done), None: no such site here


def _delete_alloc(s: _Site) -> Change:
    return s.cut(s.alloc.start(), s.alloc.end()), f"deleted the alloc of {s.var} (line {s.line})"


def _duplicate_alloc(s: _Site) -> Change:
    again = f"{s.alloc.group('indent')}{s.var} = {s.alloc.group('call')};\n"
    return s.cut(s.alloc.end(), s.alloc.end(), again), f"{s.var} allocated again (line {s.line})"


def _delete_free(s: _Site) -> Change:
    if not s.frees:
        return None
    free = s.rng.choice(s.frees)
    return s.cut(free.start(), free.end()), f"deleted the free of {free.group('var')}"


def _duplicate_free(s: _Site) -> Change:
    if not s.frees:
        return None
    free = s.rng.choice(s.frees)
    return s.cut(free.end(), free.end(), free.group(0)), f"freed {free.group('var')} twice"


def _swap_frees(s: _Site) -> Change:
    pairs = [(a, b) for a, b in zip(s.frees, s.frees[1:], strict=False) if a.end() == b.start()]
    if not pairs:
        return None
    a, b = s.rng.choice(pairs)
    swapped = s.cut(a.start(), b.end(), b.group(0) + a.group(0))
    return swapped, f"swapped the frees of {a.group('var')} and {b.group('var')}"


def _size_variable(s: _Site) -> Change:
    size, call = s.alloc.group("size"), s.alloc.group("call")
    variable = call.replace(f"(uint64_t){size}", "(uint64_t)crewrite_fuzz_size")
    body = s.cut(s.alloc.start(), s.alloc.end(), s.alloc.group(0).replace(call, variable))
    declared = f"static unsigned long long crewrite_fuzz_size = {size};\n"
    return declared + body, f"size of {s.var} from a variable"


def _rename_buffer(s: _Site) -> Change:
    name, _, start, end = _owner(s.text, s.alloc.start())
    others = [
        a.group("var") for a in s.allocs if start <= a.start() < end and a.group("var") != s.var
    ]
    target = s.rng.choice(others) if others and s.rng.random() < 0.5 else f"{s.var}_renamed"
    renamed = re.sub(rf"\b{s.var}\b", target, s.text[start:end])
    return s.cut(start, end, renamed), f"renamed {s.var} to {target} in {name}"


def _escape_alias(s: _Site) -> Change:
    keep = f"{s.alloc.group('indent')}crewrite_fuzz_keep = {s.var};\n"
    body = s.cut(s.alloc.end(), s.alloc.end(), keep)
    return "void* crewrite_fuzz_keep;\n" + body, f"{s.var} also kept in a global (line {s.line})"


def _operator(s: _Site) -> tuple[str, str, int, int, str] | None:
    """An operator (not the entry) with a pointer output, mostly one with scratch: its name,
    its output parameter, where its body starts and ends, and the body."""
    ops = [
        f
        for f in _functions(s.text)
        if "___tvm_main__" not in f[0]
        and "*" in f[1]
        and s.text[f[2] : f[3]].endswith("  return 0;\n}\n")
    ]
    ops = [
        f for f in ops if "TVMBackendAllocWorkspace" in s.text[f[2] : f[3]] or s.rng.random() < 0.3
    ]
    if not ops:
        return None
    name, params, start, end = s.rng.choice(ops)
    out = params.split(",")[-1].split("*")[-1].strip()
    return name, out, start, end, s.text[start:end]


def _read_output_first(s: _Site) -> Change:
    op = _operator(s)
    if op is None:
        return None
    name, out, start, end, body = op
    first = f"  uint8_t crewrite_fuzz_v = ((uint8_t*){out})[0];\n"
    mix = f"  ((uint8_t*){out})[0] = (uint8_t)(((uint8_t*){out})[0] ^ crewrite_fuzz_v);\n"
    last = body.rindex("  return 0;\n")
    body = first + body[:last] + mix + body[last:]
    return s.cut(start, end, body), f"{name} reads its output {out} first"


def _partial_output(s: _Site) -> Change:
    op = _operator(s)
    if op is None:
        return None
    name, out, start, end, body = op
    stores = [m.start() for m in re.finditer(rf"\b{out}\[[^\]]*\] =", body)]
    loops = [
        m
        for m in re.finditer(r"for \(int32_t (\w+) = 0; \1 < (\d+); \+\+\1\)", body)
        if stores and m.start() < stores[-1] and int(m.group(2)) >= 2
    ]
    if not loops:
        return None
    loop = loops[-1] if s.rng.random() < 0.7 else s.rng.choice(loops)
    bound = int(loop.group(2))
    halved = loop.group(0).replace(f"< {bound};", f"< {bound // 2};")
    body = body[: loop.start()] + halved + body[loop.end() :]
    return s.cut(start, end, body), f"{name} writes part of {out} (loop {bound} -> {bound // 2})"


def _fnptr_table(s: _Site) -> Change:
    calls = list(_ENTRY_CALL.finditer(s.text))
    if not calls:
        return None
    call = s.rng.choice(calls)
    op = call.group("op")
    entry = next(f for f in _functions(s.text) if f[0].endswith("___tvm_main__"))
    table = (
        "typedef int32_t (*crewrite_fuzz_fn)();\n"
        f"static crewrite_fuzz_fn crewrite_fuzz_ops[1] = {{(crewrite_fuzz_fn){op}}};\n"
    )
    body = s.cut(
        call.start(), call.end(), call.group(0).replace(f"{op}(", "crewrite_fuzz_ops[0](", 1)
    )
    at = _before_function(body, entry[2])
    return body[:at] + table + body[at:], f"{op} called through a function-pointer table"


def _splice_twice(s: _Site) -> Change:
    calls = list(_ENTRY_CALL.finditer(s.text))
    if calls and s.rng.random() < 0.5:
        call = s.rng.choice(calls)
        return s.cut(call.end(), call.end(), call.group(0)), f"{call.group('op')} called twice"
    name, _, start, end = s.rng.choice(_functions(s.text))
    head = _before_function(s.text, start)
    return s.cut(end, end, s.text[head:end]), f"{name} defined twice"


def _truncate(s: _Site) -> Change:
    cut = s.rng.randrange(len(s.text))
    return s.text[:cut], f"cut at byte {cut} of {len(s.text)}"


MUTATIONS: dict[str, Callable[[_Site], Change]] = {
    "delete_alloc": _delete_alloc,
    "duplicate_alloc": _duplicate_alloc,
    "delete_free": _delete_free,
    "duplicate_free": _duplicate_free,
    "swap_frees": _swap_frees,
    "size_variable": _size_variable,
    "rename_buffer": _rename_buffer,
    "escape_alias": _escape_alias,
    "read_output_first": _read_output_first,
    "partial_output": _partial_output,
    "fnptr_table": _fnptr_table,
    "splice_twice": _splice_twice,
    "truncate": _truncate,
}


class _Hang(BaseException):
    """Raised by the alarm: not an Exception, so crewrite's own handlers cannot swallow it."""


def _crewrite(argv: list[str], seconds: int) -> tuple[int | None, str]:
    from crewrite.cli import main

    def alarm(signum, frame):
        raise _Hang()

    said = io.StringIO()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(said):
            code = main(argv)
    except _Hang:
        code = None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, said.getvalue()


def judge(case: tuple[str, str, int, str]) -> tuple[str, str, int, str, str, str]:
    """(base, kind, choice, work folder) -> (base, kind, choice, outcome, what, detail): one
    case, in a form a process pool can hand around."""
    base, kind, choice, work = case
    mutant = mutate(base, kind, choice)
    if mutant is None:
        return base, kind, choice, "not-applicable", "", ""
    outcome = run_case(mutant, Path(work))
    return base, kind, choice, outcome.outcome, mutant.what, outcome.detail


def run_case(mutant: Mutant, work: Path, seconds: int = 120) -> Outcome:
    """Write the mutant, run crewrite on it, and judge the result."""
    key = hashlib.sha256(repr((mutant.base, mutant.kind, mutant.choice)).encode()).hexdigest()[:12]
    root = work / f"{mutant.base}-{mutant.kind}-{key}"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(FIXTURES / mutant.base, root / "mutant")
    for rel, text in mutant.files.items():
        (root / "mutant" / rel).write_text(text)
    try:
        return _judge(mutant, root, seconds)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _judge(mutant: Mutant, root: Path, seconds: int) -> Outcome:
    code, said = _crewrite(["rewrite", str(root / "mutant"), "--out", str(root / "out")], seconds)
    lines = said.strip().splitlines()
    if code is None:
        return Outcome(mutant, "hang", f"no answer within {seconds} s")
    if code == 123:
        return Outcome(mutant, "internal-error", said.strip())
    if code != 0:
        clear = code == 1 and len(lines) == 1 and lines[0].startswith("crewrite: ")
        return Outcome(mutant, "refused" if clear else "unclear-refusal", said.strip())
    if not (root / "out").exists() or not any(
        "crewrite_arena" in p.read_text() for p in (root / "out").rglob("codegen/host/src/*.c")
    ):
        return Outcome(mutant, "nothing-to-do", said.strip())
    # The rewrite's layout was proven by its own second look (else: internal error); what is
    # left to prove is every output byte, against the mutant's own wherever that is sound.
    try:
        original = build_project(root / "mutant", OPTIONS, root / "original")
    except CrewriteError:
        return Outcome(mutant, "rewritten-mutant-invalid", "the mutant does not build")
    try:
        first, second = (host.run(original, OPTIONS.seeds, fill) for fill in (1, 2))
    except host.RunFailed:
        return Outcome(mutant, "rewritten-mutant-invalid", "the mutant fails when run")
    if first.outputs != second.outputs:
        return Outcome(mutant, "rewritten-mutant-invalid", "the mutant reads stale memory")
    try:
        rewritten = build_project(root / "out", OPTIONS, root / "rewritten")
    except CrewriteError as exc:
        return Outcome(mutant, "broken", f"the rewrite does not build: {exc.format()}")
    try:
        got = host.run(rewritten, OPTIONS.seeds, 3)
    except host.RunFailed as exc:
        return Outcome(mutant, "broken", f"the rewrite fails when run: {exc.reason}")
    if got.outputs != first.outputs:
        return Outcome(mutant, "wrong", "outputs differ from the mutant's")
    return Outcome(mutant, "rewritten-equal", "")


KINDS = tuple(MUTATIONS)
