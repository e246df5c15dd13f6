"""`crewrite verify`: prove that a rewritten project computes what the original computes.

Three checks, each reported on its own:
1. the layout proof (layout.py): re-extracted from the rewritten C, no two live buffers
   share a byte;
2. the byte comparison: both projects built with the host compiler and crewrite's host
   runtime, run on the same seeded inputs, every output byte compared. The original runs
   twice per seed with its workspace filled differently: if those disagree, the model reads
   memory it never wrote, and that is reported as such, not blamed on the rewrite;
3. with `--sanitize`, both built again under AddressSanitizer and UndefinedBehaviorSanitizer,
   every workspace buffer in its own block, and each finding named (sanitize.py).
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from crewrite.extract import Program
from crewrite.output import write_copy
from crewrite.project import Project, load_project
from crewrite.reading import read_program
from crewrite.verify import host, sanitize
from crewrite.verify.interface import Interface, module_interfaces
from crewrite.verify.layout import LayoutProof, prove_layout

# The original's workspace fills (a complementary pair: see crewrite_shim.c); the rewritten
# runs with the next one.
FILLS = (1, 2)
SHOWN_BYTES = 8
LISTED = 10  # layout problems shown


@dataclass(frozen=True)
class VerifyOptions:
    cc: str | None = None
    runs: int = 5  # seeded inputs
    first_seed: int = 1
    sizes: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # kind -> NAME -> B
    include_dirs: tuple[Path, ...] = ()
    defines: tuple[str, ...] = ()
    lib_src: tuple[Path, ...] = ()
    lib_include: tuple[Path, ...] = ()
    cflags: tuple[str, ...] = ()
    sanitize: bool = False
    keep: Path | None = None  # keep the builds here instead of a temporary folder
    timeout: float = 300.0  # per program run

    @property
    def seeds(self) -> list[int]:
        return list(range(self.first_seed, self.first_seed + self.runs))


@dataclass(frozen=True)
class Difference:
    """The first output byte where two runs disagree."""

    seed: int
    module: str
    output: str
    offset: int
    size: int
    left: bytes  # a few bytes from `offset` on
    right: bytes
    differing: int  # bytes of this output that differ

    def describe(self, left: str, right: str) -> str:
        return (
            f"seed {self.seed}, module {self.module}, output {self.output}, byte {self.offset} "
            f"of {self.size:,} ({self.differing:,} differ): {left} {self.left.hex(' ')}, "
            f"{right} {self.right.hex(' ')}"
        )


@dataclass(frozen=True)
class Verdict:
    original: str
    rewritten: str
    compiler: str
    interface: Interface
    layout: LayoutProof
    seeds: tuple[int, ...]
    bytes_compared: int
    difference: Difference | None
    unstable: Difference | None  # the original disagreeing with itself
    failure: str | None  # a program that did not finish its runs
    findings: tuple[sanitize.Finding, ...]
    sanitized: bool  # the builds also ran under the sanitizers
    calls: tuple[tuple[str, int, int], ...]  # (module, original calls, rewritten calls)
    peaks: tuple[tuple[str, int, int], ...]  # (module, original peak, rewritten peak)
    seconds: float

    @property
    def ok(self) -> bool:
        return (
            self.layout.ok
            and self.failure is None
            and self.unstable is None
            and self.difference is None
            and not self.findings
        )

    def text(self) -> str:
        lines = [f"crewrite verify: {self.original} -> {self.rewritten}"]
        lines += [f"  {line}" for line in self.interface.describe()]
        lines += [f"  note: {note}" for note in self.interface.notes]
        lines.append(f"  layout: {self.layout.summary()}")
        lines += [f"    {problem}" for problem in self.layout.problems[:LISTED]]
        if len(self.layout.problems) > LISTED:
            lines.append(f"    ... and {len(self.layout.problems) - LISTED} more")
        lines += [f"    note: {note}" for note in self.layout.notes]
        lines.append(f"  built with {self.compiler} against crewrite's host runtime")
        for module, before, after in self.calls:
            peak = next(p for m, p, _ in self.peaks if m == module)
            lines.append(
                f"  module {module}: original {before} workspace calls per run (peak "
                f"{peak:,} B), rewritten {after}"
            )
        seeds = " ".join(map(str, self.seeds))
        lines.append(
            f"  inputs tried: {len(self.seeds)} seed{'s' if len(self.seeds) > 1 else ''} "
            f"({seeds}); the original ran twice per seed with differently filled workspace"
        )
        lines.append(f"  bytes compared: {self.bytes_compared:,}")
        if self.failure is not None:
            lines.append(f"  run failed: {self.failure}")
        if self.unstable is not None:
            lines.append(
                "  the ORIGINAL's outputs depend on memory it never wrote (two workspace fills, "
                "two results): "
                + self.unstable.describe("fill 1", "fill 2")
                + "; no rewrite can be proven against it"
            )
        if self.difference is not None:
            lines.append("  first difference: " + self.difference.describe("original", "rewritten"))
        if self.sanitized and not self.findings:
            lines.append("  sanitizers (address, undefined): no finding in either build")
        for finding in self.findings:
            times = f" ({finding.count} times)" if finding.count > 1 else ""
            lines.append(
                f"  sanitizer, {finding.build}: {finding.kind} at {finding.where}: "
                f"{finding.detail}{times}"
            )
        if any(f.buffer.startswith("workspace buffer") for f in self.findings):
            lines.append(
                "    on the device such an access reads or writes whatever lies next to the "
                "buffer; the rewrite moves buffers, so what lies there changes and results can "
                "change with it: fix or pad that buffer before trusting either program"
            )
        lines.append(f"  result: {'EQUAL' if self.ok else 'NOT PROVEN'} ({self.seconds:.1f} s)")
        return "\n".join(lines) + "\n"


def parse_program(project: Project, defines: list[str]) -> Program:
    """crewrite's own extraction of a project, as the rewrite does it."""
    return read_program(project, defines).program


def toolchain(options: VerifyOptions) -> host.Toolchain:
    return host.Toolchain(
        host.find_compiler(options.cc),
        tuple(options.defines),
        tuple(options.lib_src),
        tuple(options.lib_include),
        tuple(options.cflags),
    )


def _load(path: Path | Project, options: VerifyOptions) -> Project:
    if isinstance(path, Project):
        return path
    return load_project([Path(path)], include_dirs=list(options.include_dirs))


@dataclass(frozen=True)
class Original:
    """A project built once, with its extraction, to verify several rewrites against."""

    build: host.HostBuild
    program: Program


def build_original(original: Path | Project, options: VerifyOptions, out_dir: Path) -> Original:
    """Build and extract a project once, for `verify(..., original_build=...)`."""
    project = _load(original, options)
    try:
        build = build_project(project, options, out_dir)
        return Original(build, parse_program(project, list(options.defines)))
    finally:
        if not isinstance(original, Project):
            project.close()


def build_project(path: Path | Project, options: VerifyOptions, out_dir: Path) -> host.HostBuild:
    """A project built for the host to run (`host.run`), without crewrite's extraction: any C
    that compiles, such as code crewrite refuses or a rewrite already proven by its own
    second look (the tests and the fuzzing tool compare outputs of both)."""
    project = _load(path, options)
    try:
        interface = module_interfaces(project, list(options.defines), options.sizes)
        return host.build(
            project, interface, out_dir, toolchain(options), alignment=project.alloc_alignment
        )
    finally:
        if not isinstance(path, Project):
            project.close()


def _first_difference(left: host.RunOutput, right: host.RunOutput) -> tuple[Difference | None, int]:
    """The first differing output byte, and how many bytes were compared in all."""
    first = None
    for key, a in left.outputs.items():
        b = right.outputs[key]
        if a == b or first is not None:
            continue
        at = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
        differing = sum(x != y for x, y in zip(a, b, strict=True))
        seed, module, output = key
        end = at + SHOWN_BYTES
        first = Difference(seed, module, output, at, len(a), a[at:end], b[at:end], differing)
    return first, sum(len(a) for a in left.outputs.values())


@dataclass(frozen=True)
class _Runs:
    """What the runs of both builds showed."""

    difference: Difference | None = None
    unstable: Difference | None = None
    compared: int = 0
    calls: tuple[tuple[str, int, int], ...] = ()
    peaks: tuple[tuple[str, int, int], ...] = ()
    failure: str | None = None


def _compare(
    old: host.HostBuild, new: host.HostBuild, interface: Interface, options: VerifyOptions
) -> _Runs:
    """The original twice per seed (two workspace fills), the rewritten once."""
    seeds = options.seeds
    try:
        first = host.run(old, seeds, FILLS[0], options.timeout)
        second = host.run(old, seeds, FILLS[1], options.timeout)
        result = host.run(new, seeds, FILLS[-1] + 1, options.timeout)
    except host.RunFailed as exc:
        return _Runs(failure=exc.reason)
    unstable, _ = _first_difference(first, second)
    difference, compared = _first_difference(first, result)
    stats = [
        (m.module, first.stats[(seeds[0], m.module)], result.stats[(seeds[0], m.module)])
        for m in interface.modules
    ]
    return _Runs(
        difference,
        unstable,
        compared,
        tuple((m, a[1], b[1]) for m, a, b in stats),
        tuple((m, a[0], b[0]) for m, a, b in stats),
    )


def verify(
    original: Path | Project,
    rewritten: Path | Project,
    options: VerifyOptions = VerifyOptions(),
    *,
    original_build: Original | None = None,
) -> Verdict:
    """Prove `rewritten` against `original` (folders, MLF archives, or loaded projects).

    Bad input (unparsable C, no module header, a build error) raises CrewriteError; a
    rewrite that cannot be proven gives a Verdict whose `ok` is False."""
    started = time.perf_counter()
    before = _load(original, options)
    after = _load(rewritten, options)
    try:
        defines = list(options.defines)
        tools = toolchain(options)
        interface = (
            original_build.build.interface
            if original_build is not None
            else module_interfaces(before, defines, options.sizes)
        )
        with (
            tempfile.TemporaryDirectory(prefix="crewrite-verify-") as scratch,
            ThreadPoolExecutor(max_workers=2) as pool,
        ):
            work = options.keep or Path(scratch)

            def build(project: Project, name: str, sanitize: bool = False) -> host.HostBuild:
                return host.build(
                    project,
                    interface,
                    work / name,
                    tools,
                    alignment=before.alloc_alignment,
                    sanitize=sanitize,
                    kept=options.keep is not None,
                )

            # The compiler runs in the background while the layout is proven.
            builds = {"rewritten": pool.submit(build, after, "rewritten")}
            if original_build is None:
                builds["original"] = pool.submit(build, before, "original")
            if options.sanitize:
                for name, project in (("original", before), ("rewritten", after)):
                    builds[f"{name}-sanitized"] = pool.submit(
                        build, project, f"{name}-sanitized", True
                    )
            if original_build is not None:
                program = original_build.program
            else:
                program = parse_program(before, defines)
            program_after = parse_program(after, defines)
            headers = {rel: after.texts[rel] for rel in after.headers}
            layout = prove_layout(program, program_after, before.alloc_alignment, headers)
            old = builds["original"].result() if original_build is None else original_build.build
            runs = _compare(old, builds["rewritten"].result(), interface, options)
            found: list[sanitize.Finding] = []
            if options.sanitize:
                for name, project, extracted in (
                    ("original", before, program),
                    ("rewritten", after, program_after),
                ):
                    built = builds[f"{name}-sanitized"].result()
                    found += _sanitized(built, project, extracted, options, name)
        return Verdict(
            original=before.given or str(before.root),
            rewritten=after.given or str(after.root),
            compiler=tools.version,
            interface=interface,
            layout=layout,
            seeds=tuple(options.seeds),
            bytes_compared=runs.compared,
            difference=runs.difference,
            unstable=runs.unstable,
            failure=runs.failure,
            findings=tuple(found),
            sanitized=options.sanitize,
            calls=runs.calls,
            peaks=runs.peaks,
            seconds=time.perf_counter() - started,
        )
    finally:
        for project, given in ((before, original), (after, rewritten)):
            if not isinstance(given, Project):
                project.close()


def _sanitized(
    built: host.HostBuild,
    project: Project,
    program: Program,
    options: VerifyOptions,
    which: str,
) -> list[sanitize.Finding]:
    try:
        stderr = host.run(built, options.seeds, FILLS[0], options.timeout).stderr
    except host.RunFailed as exc:
        stderr = exc.stderr
    files = {PurePath(rel).name for rel in project.sources}
    files |= {p.name for d in options.lib_src for p in Path(d).rglob("*.c")}
    by_size: dict[int, list[str]] = {}
    for t in built.interface.tensors:
        by_size.setdefault(t.size, []).append(f"{t.kind} '{t.label}'")
    found = sanitize.findings(stderr, program, files, by_size)
    return [dataclasses.replace(f, build=which) for f in found]


def verify_rewrite(
    project: Project, new_texts: Mapping[str, str], options: VerifyOptions
) -> Verdict:
    """Verify a rewrite before anything is written: the new texts go to a scratch copy."""
    with tempfile.TemporaryDirectory(prefix="crewrite-rewritten-") as scratch:
        copy = Path(scratch) / "rewritten"
        write_copy(project, new_texts, copy)
        rewritten = load_project([copy], include_dirs=list(options.include_dirs))
        rewritten.given = f"{project.given or project.root} (rewritten)"
        try:
            return verify(project, rewritten, options)
        finally:
            rewritten.close()
