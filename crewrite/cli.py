"""Command line: `crewrite rewrite` for generated projects, `crewrite explain` for why the
workspace is as large as it is, `crewrite verify` to prove a rewrite on the host, `crewrite
pack` for the planner. Exit codes as Black's: 0 done or nothing to do, 1 bad input (or, under
--check, files that would change), 2 bad command line, 123 internal error."""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, cast

from crewrite import __version__, packing, progress
from crewrite.api import run
from crewrite.errors import CrewriteError, InternalError, UsageError
from crewrite.explanation import explain_result
from crewrite.liveness import MODELS
from crewrite.packing import cli as pack_cli
from crewrite.pipeline import Options, Result
from crewrite.project import is_archive
from crewrite.report import changed_files, make_report, text_report, unified_diff
from crewrite.verify import cli as verify_cli

EXIT_OK, EXIT_CHANGES, EXIT_ERROR, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 1, 2, 123
SECTION_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
RAM = re.compile(r"(0x[0-9a-fA-F]+|\d+)\s*(k|kb|kib|m|mb|mib)?", re.IGNORECASE)

REWRITE_EPILOG = """\
inputs:
  PATH is a generated board project (model/codegen/host/src/*.c), a Model Library Format
  folder or archive, .tar, .tar.gz or .tgz (codegen/host/src/*.c, codegen/host/include/
  tvmgen_<mod>.h), or .c files given one by one (then --header names the module header).
  Without PATH, the current folder. An archive rewritten in place stays compressed as it was.

what changes:
  every TVMBackendAllocWorkspace(...) becomes an address in one static uint8_t arena per
  module (tvmgen_<mod>_crewrite_arena, defined in the module's source file with the most
  workspace sites, `extern` in the others: no new file, so any build picks it up), every
  TVMBackendFreeWorkspace(...) becomes 0, TVMGEN_<MOD>_WORKSPACE_SIZE becomes 0 (what the
  runtime allocator still needs) in the generated header and in every copy the application
  keeps (copies that disagreed are named), and so does workspace_size_bytes in an MLF
  metadata.json (graph executor: lowered only by the operators' workspace, the graph's
  tensors stay); the allocator size the project sets with a number (-DWORKSPACE_SIZE=N in a
  CMakeLists.txt, or #define WORKSPACE_SIZE N in its src/ or include/) is lowered by the bytes
  moved to the arena (set another way, a CMake variable or an expression, it is named in a
  note with the bytes to take off), and an array sized from the header macro that would have
  length 0 gets `+ 1` (strict ISO C rejects zero-length arrays). Without --out the project
  is rewritten in place, all or nothing (a run killed midway is repaired by the next one); a
  second run changes nothing and exits 0.
  A project built with USMP (no workspace call, static pools) has each workspace pool
  re-planned instead: every slice &pool[N] at a new offset, the pool array, its header
  defines (in every copy) and metadata shrunk by what was saved; constant pools stay, and a
  pool whose slices crewrite cannot size, or whose sources do not parse, stays as USMP
  planned it, with the reason.
  A project with neither workspace calls nor USMP pools (or already rewritten) is recognised
  from its text, without parsing; a source that does not parse is left out when it has no
  workspace call and nothing crewrite follows (and said so).

liveness:
  fine (default) follows each buffer into the functions it is handed to, and splits a
  reused buffer (a sid of the AOT entry, an operator allocation) into live ranges where a
  statement provably writes every byte that is read before the next such statement; each
  range is planned with the bytes its code touches, not the whole allocation. Whatever
  crewrite cannot follow stays live from its alloc to its free, at its allocated size.
  --liveness coarse keeps a buffer handed to a call live for the whole call and never
  splits. --poison-dead builds a host diagnostic that overwrites every byte no live buffer
  owns after every statement.

out-of-bounds accesses:
  code that may read or write past its workspace buffer's allocation (native conv schedules
  do) is warned about on stderr, naming operator, buffer, statement and bytes, and the
  buffer is planned with the bytes it reaches, so the rewrite never hands those bytes to
  another live buffer. --strict makes such an access an error (exit 1, nothing written).
  Accesses crewrite cannot bound are no such claim; -v lists them.

verification:
  --verify proves the rewrite on this machine before anything is written (see crewrite
  verify --help): the layout read back from the rewritten C, and every output byte of the
  original and the rewritten project, built with the host compiler, compared on seeded
  inputs. The flags under "host verification" tune it.

modes (as Black's and Ruff's):
  --check    write nothing; one line per file that would change, exit 1 if any would
  --diff     write nothing; print a unified diff of every file that would change (sources,
             headers, build files, metadata); with --check, also exit 1 if any would
  --dry-run  plan and report (text, --report-json, --svg), write no project file

exit codes:
  0  rewritten (or, with --dry-run or --diff, would be), or nothing to do: no workspace
     call and no USMP pool crewrite can shrink, or already rewritten by crewrite (one line
     says which)
  1  bad input or unsafe situation: one message with file, line and reason; nothing written
     (with --verify: also a rewrite that could not be proven; with --strict: an access past
     a buffer's allocation); under --check, files would change
  2  bad command line (a value that cannot work, e.g. --time-limit -1, --header DIR)
  123  internal error (a bug in crewrite: please report it; -v prints the traceback)

examples:
  crewrite rewrite fixtures/kws_native --out out/kws_native --report-json out/kws.json
  crewrite rewrite path/to/project --check --diff       # CI: exit 1 and the diff if not done
  crewrite rewrite model.tar.gz --dry-run --svg layout.svg  # the plan as a picture
"""

EXPLAIN_EPILOG = """\
what it says, per module:
  the workspace as written (TVMGEN_<MOD>_WORKSPACE_SIZE), crewrite's arena, the lower
  bound (the most bytes live at one point) and the saving, also as a share of --ram;
  where the runtime's stack allocator peaks and every buffer it holds there (operator,
  variable, bytes, element type, source line, and why it is held there: a tensor between
  operators is held from before the first operator to after the last, an operator's
  scratch is stacked on top); where crewrite's arena peaks and what is live there (what
  would have to shrink to go lower); the operators with the most scratch.
  A USMP-built project has no runtime allocator: for each workspace pool, its size as USMP
  planned it, crewrite's plan of the same slices, the lower bound, and how much of the
  saving comes from packing USMP's own lifetimes and how much from finer ones.

--json keys (stable): path, status ("explained", "static", "already-rewritten"),
  ram_bytes, original_workspace_bytes, arena_bytes, lower_bound_bytes, saved_bytes,
  saved_percent_of_ram, notes, and modules: [{module, original_workspace_bytes,
  original_workspace_from, as_written_peak_bytes, arena_bytes, lower_bound_bytes,
  saved_bytes, saved_percent, saved_percent_of_ram, planner, optimal, sites, live_ranges,
  original_peak, arena_peak, to_go_lower, top_operators}]; a peak is {point, at, operator,
  bytes, buffers: [{operator, function, variable, range, bytes, offset, dtype, kind, file,
  line, why}]}; an operator {operator, function, calls, scratch_bytes, buffers: [{variable,
  bytes, dtype, line}]}; pools: the re-planned USMP pools as in `crewrite rewrite
  --report-json` ({module, pool, defined, usmp_pool_bytes, usmp_pool_from, arena_bytes,
  lower_bound_bytes, saved_bytes, saved_by_packing_bytes, saved_by_lifetimes_bytes,
  usmp_lifetimes_arena_bytes, planner, optimal, alignment, slices}). The same fields as
  crewrite.explain() in Python.

exit codes: 0 explained (or nothing to explain), 1 bad input, 2 bad command line,
  123 internal error.

examples:
  crewrite explain fixtures/kws_native
  crewrite explain fixtures/kws_native --ram 320K --svg kws.svg
  crewrite explain path/to/model.tar --json > why.json
"""


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line that starts with `crewrite:` (exit 2)."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("crewrite").strip()
        where = f"{command}: " if command else ""
        self.exit(EXIT_USAGE, f"crewrite: {where}{message} (see {self.prog} --help)\n")


def _input_flags(p: argparse.ArgumentParser) -> None:
    """What `rewrite` and `explain` read: the inputs and how to parse and plan them."""
    p.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[Path(".")],
        metavar="PATH",
        help="project folder, MLF archive or .c files (default: the current folder)",
    )
    p.add_argument(
        "--header",
        type=Path,
        metavar="FILE",
        help="module header tvmgen_<mod>.h, when PATH is .c files",
    )
    p.add_argument(
        "-I",
        dest="include_dirs",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="extra include folder for the preprocessor (repeatable)",
    )
    p.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="preprocessor define (repeatable)",
    )
    p.add_argument(
        "--planner",
        default="auto",
        choices=sorted(packing.PLANNERS),
        help="offset planner (default: auto = best proven within the time limit)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="S",
        help="seconds the planner may spend per module",
    )
    p.add_argument(
        "--liveness",
        choices=MODELS,
        default="fine",
        help="fine (default): a buffer is live only where its bytes are used, "
        "through calls; reused sids split into live ranges. coarse: a buffer "
        "handed to a call is live for the whole call",
    )


def _svg_flag(p: argparse.ArgumentParser, *old_names: str) -> None:
    p.add_argument(
        "--svg",
        *old_names,
        dest="svg",
        type=Path,
        metavar="FILE",
        help="draw memory over the program as SVG: the stack allocator as written and "
        "crewrite's arena side by side",
    )


def _verbosity(p: argparse.ArgumentParser, verbose: str) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    group.add_argument("-v", "--verbose", action="store_true", help=verbose)


def _rewrite_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "rewrite",
        help="replace workspace calls by one static, lifetime-packed arena",
        description="Rewrite microTVM generated C so that no workspace call remains.",
        epilog=REWRITE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _input_flags(p)
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write a complete rewritten copy to DIR (new or empty); PATH untouched",
    )
    p.add_argument("--section", metavar="NAME", help="linker section for the arena (default: .bss)")
    p.add_argument(
        "--strict",
        action="store_true",
        help="an access past a workspace buffer's allocation is an error, not a warning",
    )
    p.add_argument(
        "--poison-dead",
        action="store_true",
        help="diagnostic build, never ship it: also overwrite every buffer's bytes "
        "where the analysis says they are dead, to prove it on the host",
    )
    p.add_argument(
        "--report-json", type=Path, metavar="FILE", help="write the report as JSON to FILE"
    )
    _svg_flag(p, "--report-svg")  # its old name, still accepted
    modes = p.add_argument_group("modes")
    modes.add_argument(
        "--check",
        action="store_true",
        help="write nothing; name each file that would change and exit 1 if any would",
    )
    modes.add_argument(
        "--diff",
        action="store_true",
        help="write nothing; print a unified diff of every file that would change",
    )
    modes.add_argument(
        "--dry-run",
        action="store_true",
        help="plan and report; write nothing but the reports (--report-json, --svg)",
    )
    p.add_argument(
        "--ok-if-rewritten",
        action="store_true",
        help="no effect, kept for old scripts: an already rewritten project exits 0",
    )
    _verbosity(
        p,
        "also list every live range (offset, bytes, live windows, source line) and where a "
        "buffer's bytes could not be bounded",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="prove the rewrite on the host (layout, every output byte) before writing it",
    )
    verify_cli.add_flags(p)


def _explain_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "explain",
        help="why the workspace is as large as it is, and what crewrite would save",
        description="Say why a generated project needs the workspace it needs: where the "
        "runtime's stack allocator peaks and what it holds there, where crewrite's arena "
        "would peak and what is live there, and the operators with the most scratch. "
        "Writes nothing.",
        epilog=EXPLAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _input_flags(p)
    p.add_argument(
        "--ram",
        type=_ram_bytes,
        metavar="BYTES",
        help="the board's RAM (e.g. 327680, 320K, 1M), to state the saving as a share of it",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (keys below)")
    _svg_flag(p)


def _ram_bytes(text: str) -> int:
    match = RAM.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"expected bytes such as 327680, 320K or 1M, not {text}")
    value = int(match.group(1), 0)
    unit = (match.group(2) or "").lower()[:1]
    value *= {"": 1, "k": 1024, "m": 1024 * 1024}[unit]
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 bytes, not {text}")
    return value


TOP_EPILOG = """\
examples:
  crewrite explain fixtures/kws_native          # why 126,432 B, and what the arena needs
  crewrite rewrite fixtures/kws_native --out out/kws_native
  crewrite verify fixtures/kws_native out/kws_native
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="crewrite",
        description="Shrink microTVM RAM: move every workspace buffer of the generated C into "
        "one static arena planned by buffer lifetimes.",
        epilog=TOP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"crewrite {__version__}")
    # Subcommands are _Parser too (argparse makes them of the parent's class).
    sub = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", required=True, metavar="COMMAND"),
    )
    _rewrite_parser(sub)
    _explain_parser(sub)
    verify_cli.add_parser(sub)
    pack_cli.add_parser(sub)
    return parser


def _can_create(path: Path) -> bool:
    """Whether `path` can be written, creating missing folders (checked before any rewrite,
    so that a report that cannot be written never follows rewritten files)."""
    if path.is_dir():
        return False
    folder = path.resolve().parent
    while not folder.exists():
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK)


def _check_inputs(args: argparse.Namespace, reports: list[Path | None]) -> None:
    """Refuse a command line that cannot work (exit 2), and reports that cannot be written
    (exit 1), before anything is read."""
    if args.header is not None and any(p.is_dir() or is_archive(p) for p in args.paths):
        raise UsageError("--header is for .c files given one by one")
    if args.header is not None and args.header.is_dir():
        raise UsageError(f"--header {args.header}: a folder; name the module header tvmgen_<mod>.h")
    if args.time_limit is not None and not 0 < args.time_limit < float("inf"):
        raise UsageError(
            f"--time-limit must be a positive number of seconds, not {args.time_limit}"
        )
    for report in reports:
        if report is not None and not _can_create(report):
            raise CrewriteError("cannot write the report here (a folder, or read-only)", report)


def _options(args: argparse.Namespace) -> Options:
    return Options(
        include_dirs=tuple(args.include_dirs),
        defines=tuple(args.defines),
        planner=args.planner,
        time_limit=args.time_limit,
        section=getattr(args, "section", None),
        liveness=args.liveness,
        poison_shift=0 if getattr(args, "poison_dead", False) else None,
        strict=getattr(args, "strict", False),
    )


def _write_reports(reports: list[tuple[Path | None, Callable[[], str]]]) -> None:
    for path, render in reports:
        if path is None:
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render())
        except OSError as exc:
            raise CrewriteError(f"cannot write the report: {exc.strerror}", path) from None


def _why_empty(result: Result) -> str:
    """What the picture says when there is no module to draw: the note that says why."""
    return result.notes[0].split(": ", 1)[-1] if result.notes else "no workspace call"


def _given(args: argparse.Namespace) -> str:
    return " ".join(str(p) for p in args.paths)


def _run_rewrite(args: argparse.Namespace) -> int:
    if args.section is not None and not SECTION_NAME.fullmatch(args.section):
        raise UsageError(f"--section {args.section!r}: use letters, digits, '.', '_', '-'")
    _check_inputs(args, [args.report_json, args.svg])
    write = not (args.dry_run or args.check or args.diff)
    with progress.shown_on(sys.stderr):
        result = run(
            args.paths,
            args.out,
            header=args.header,
            options=_options(args),
            write=write,
            verify=verify_cli.options_from(args) if args.verify else None,
            cache=True,
        )
    if not args.quiet:
        for warning in result.warnings:
            print(f"crewrite: warning: {warning}", file=sys.stderr)
    if result.verdict is not None and (not args.quiet or not result.verdict.ok):
        print(result.verdict.text(), end="")
    if result.verdict is not None and not result.verdict.ok:
        raise CrewriteError("the rewrite could not be proven (see above); nothing was written")
    written = write and (args.out is not None or bool(result.new_texts))
    _write_reports(
        [
            (
                args.report_json,
                lambda: (
                    json.dumps(make_report(result, _given(args), written).to_json(), indent=1)
                    + "\n"
                ),
            ),
            (args.svg, lambda: _picture(result)),
        ]
    )
    if args.diff:
        sys.stdout.write(unified_diff(result))
    if result.status != "rewritten":  # nothing to do: one line says why
        if not args.quiet:
            print(text_report(result), end="", file=sys.stderr)
        return EXIT_OK
    if args.check:
        if not args.quiet:
            for name in changed_files(result):
                print(f"crewrite: would rewrite {name}", file=sys.stderr)
        return EXIT_CHANGES if result.new_texts else EXIT_OK
    if not args.quiet and not args.diff:
        print(text_report(result, args.verbose), end="")
    return EXIT_OK


def _picture(result: Result) -> str:
    from crewrite.picture import svg_picture  # drawsvg is imported only to draw

    return svg_picture(result.modules, _why_empty(result), result.pools)


def _run_explain(args: argparse.Namespace) -> int:
    _check_inputs(args, [args.svg])
    with progress.shown_on(sys.stderr):
        result: Result = run(
            args.paths, header=args.header, options=_options(args), write=False, cache=True
        )
    explanation = explain_result(result, _given(args), args.ram)
    _write_reports([(args.svg, lambda: _picture(result))])
    if args.json:
        print(json.dumps(explanation.to_json(), indent=1))
    else:
        said = explanation.status == "explained"
        print(explanation.text(), end="", file=sys.stdout if said else sys.stderr)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # a process of its own, that ends with the run: no cyclic collector
        gc.disable()  # (its passes over the parser's garbage cost a fifth of a run),
        try:  # and what the run left in cycles is not traversed again at the exit
            return _main(argv)
        finally:
            gc.freeze()
    return _main(argv)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "rewrite":
            return _run_rewrite(args)
        if args.command == "explain":
            return _run_explain(args)
        if args.command == "verify":
            return verify_cli.run(args)
        return pack_cli.run(args)
    except UsageError as exc:
        print(f"crewrite: {exc.format()}", file=sys.stderr)
        return EXIT_USAGE
    except InternalError as exc:
        return _internal_error(exc.format(), args)
    except CrewriteError as exc:
        print(f"crewrite: {exc.format()}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            # The reader of our output went away (`crewrite pack ... | head`).
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
        print(f"crewrite: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug: one line for users, the traceback for the report
        return _internal_error(f"{type(exc).__name__}: {exc}", args)


def _internal_error(what: str, args: argparse.Namespace) -> int:
    """One line (the traceback too under -v): nothing was written, and this is our bug."""
    verbose = getattr(args, "verbose", False)
    hint = "" if verbose else "; -v prints the traceback"
    print(f"crewrite: internal error, please report ({what}{hint})", file=sys.stderr)
    if verbose:
        traceback.print_exc(file=sys.stderr)
    return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
