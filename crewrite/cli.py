"""Command line: `crewrite rewrite` for generated projects, `crewrite verify` to prove a rewrite on
the host, `crewrite pack` for the planner."""

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

from crewrite import __version__, packing
from crewrite.api import rewrite
from crewrite.errors import CrewriteError, InternalError, UsageError
from crewrite.liveness import MODELS
from crewrite.packing import cli as pack_cli
from crewrite.pipeline import AlreadyRewritten, Options
from crewrite.report import json_report, svg_report, text_report
from crewrite.verify import cli as verify_cli

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_ALREADY, EXIT_INTERNAL = 0, 1, 2, 3, 123
SECTION_NAME = re.compile(r"[A-Za-z0-9_.\-]+")

REWRITE_EPILOG = """\
inputs:
  PATH is a generated board project (model/codegen/host/src/*.c), a Model Library Format
  folder or .tar (codegen/host/src/*.c, codegen/host/include/tvmgen_<mod>.h), or .c files
  given one by one (then --header names the module header).

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
  moved to the arena, and an array sized from the header macro that would have length 0
  gets `+ 1` (strict ISO C rejects zero-length arrays). Without --out the project is
  rewritten in place, all or nothing (a run killed midway is repaired by the next one); a
  second run changes nothing.
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

exit codes:
  0  rewritten (or, with --dry-run, would be), or already static (no workspace calls, and
     no USMP pool crewrite can shrink)
  1  bad input or unsafe situation: one message with file, line and reason; nothing written
     (with --verify: also a rewrite that could not be proven; with --strict: an access past
     a buffer's allocation)
  2  bad command line (a value that cannot work, e.g. --time-limit -1, --header DIR)
  3  already rewritten by crewrite: nothing to do (0 with --ok-if-rewritten)
  123  internal error (a bug in crewrite: please report it; -v prints the traceback)
"""


def _rewrite_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "rewrite",
        help="replace workspace calls by one static, lifetime-packed arena",
        description="Rewrite microTVM generated C so that no workspace call remains.",
        epilog=REWRITE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write a complete rewritten copy to DIR (new or empty); PATH untouched",
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
    p.add_argument("--section", metavar="NAME", help="linker section for the arena (default: .bss)")
    p.add_argument(
        "--liveness",
        choices=MODELS,
        default="fine",
        help="fine (default): a buffer is live only where its bytes are used, "
        "through calls; reused sids split into live ranges. coarse: a buffer "
        "handed to a call is live for the whole call",
    )
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
    p.add_argument(
        "--report-svg",
        type=Path,
        metavar="FILE",
        help="draw the layout (buffers over program points and offsets) as SVG",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="plan and report; write nothing but the reports (--report-json, --report-svg)",
    )
    p.add_argument(
        "--ok-if-rewritten",
        action="store_true",
        help="exit 0 instead of 3 when the project is already rewritten",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also list every live range (offset, bytes, live windows, source line) and "
        "where a buffer's bytes could not be bounded",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="prove the rewrite on the host (layout, every output byte) before writing it",
    )
    verify_cli.add_flags(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crewrite",
        description="Shrink microTVM RAM: move every workspace buffer of the generated C into "
        "one static arena planned by buffer lifetimes.",
    )
    parser.add_argument("--version", action="version", version=f"crewrite {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _rewrite_parser(sub)
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


def _run_rewrite(args: argparse.Namespace) -> int:
    if args.header is not None and any(p.is_dir() or p.suffix == ".tar" for p in args.paths):
        raise UsageError("--header is for .c files given one by one")
    if args.header is not None and args.header.is_dir():
        raise UsageError(f"--header {args.header}: a folder; name the module header tvmgen_<mod>.h")
    if args.time_limit is not None and not 0 < args.time_limit < float("inf"):
        raise UsageError(
            f"--time-limit must be a positive number of seconds, not {args.time_limit}"
        )
    if args.section is not None and not SECTION_NAME.fullmatch(args.section):
        raise UsageError(f"--section {args.section!r}: use letters, digits, '.', '_', '-'")
    for report in (args.report_json, args.report_svg):
        if report is not None and not _can_create(report):
            raise CrewriteError("cannot write the report here (a folder, or read-only)", report)
    options = Options(
        include_dirs=tuple(args.include_dirs),
        defines=tuple(args.defines),
        planner=args.planner,
        time_limit=args.time_limit,
        section=args.section,
        liveness=args.liveness,
        poison_shift=0 if args.poison_dead else None,
        strict=args.strict,
    )
    try:
        result = rewrite(
            args.paths,
            args.out,
            header=args.header,
            options=options,
            dry_run=args.dry_run,
            verify=verify_cli.options_from(args) if args.verify else None,
            cache=True,
        )
    except AlreadyRewritten as exc:
        if not args.quiet:
            print(exc.format(), file=sys.stderr)
        return EXIT_OK if args.ok_if_rewritten else EXIT_ALREADY
    if not args.quiet:
        for warning in result.warnings:
            print(f"crewrite: warning: {warning}", file=sys.stderr)
    if result.verdict is not None and (not args.quiet or not result.verdict.ok):
        print(result.verdict.text(), end="")
    if result.verdict is not None and not result.verdict.ok:
        raise CrewriteError("the rewrite could not be proven (see above); nothing was written")
    reports: list[tuple[Path | None, Callable[[], str]]] = [
        (args.report_json, lambda: json.dumps(json_report(result), indent=1) + "\n"),
        (args.report_svg, lambda: svg_report(result)),
    ]
    for path, render in reports:
        if path is None:
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render())
        except OSError as exc:
            raise CrewriteError(f"cannot write the report: {exc.strerror}", path) from None
    if not args.quiet:
        print(text_report(result, args.verbose), end="")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # a process of its own, that ends with the run: no cyclic collector
        gc.disable()  # (its passes over the ASTs, and one at the end, cost a fifth of a run)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "rewrite":
            return _run_rewrite(args)
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
