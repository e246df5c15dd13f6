"""Command line of `crewrite verify`, and the `--verify` flags of `crewrite rewrite`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crewrite.errors import CrewriteError
from crewrite.verify.compare import VerifyOptions, verify
from crewrite.verify.interface import KINDS, parse_overrides

VERIFY_EPILOG = """\
what it checks:
  layout     the rewritten C is read back with crewrite's own extraction: every buffer's
             arena offset, its size, and its live ranges recomputed from the original; no
             two buffers live at the same point may share a byte
  bytes      both projects are built with the host C compiler (gcc or clang on PATH, or
             --cc) against crewrite's host runtime (workspace allocator, Arm intrinsics in
             C, CMSIS-NN kernels) and a driver that calls tvmgen_<mod>_run for every module;
             both run on the same seeded inputs and every output byte is compared. The
             original runs twice per seed with its workspace filled differently: if those
             runs disagree, the model reads memory it never wrote, and verify says so
             instead of blaming the rewrite
  sanitize   with --sanitize, both are built again under AddressSanitizer and
             UndefinedBehaviorSanitizer with every workspace buffer in its own block; an
             operator that reads or writes past its buffer is named, with the buffer and
             the distance

tensor sizes:
  from --input/--output/--pool NAME=BYTES, else the module header's
  TVMGEN_<MOD>_<NAME>_SIZE defines, else the MLF metadata.json (TVM 0.8 to 0.18 layouts),
  else arrays named after the tensor in the project's include/ and src/ headers; a size
  found nowhere is guessed (1 MiB) with a note. NAME may be MODULE.NAME.

exit codes:
  0  proven: layout sound, every output byte equal (and, with --sanitize, no finding)
  1  not proven (a difference, a layout problem, a sanitizer finding, an original that
     reads memory it never wrote, a run that failed) or bad input
  2  bad command line

examples:
  crewrite verify fixtures/kws_native out/kws_native  # after the README's first command
  crewrite verify orig/ new/ --runs 20 --sanitize --output Identity=8
  crewrite verify orig/ new/ --lib-src CMSIS-NN/Source --lib-include CMSIS-NN/Include
"""


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _seed(text: str) -> int:
    value = int(text, 0)
    if not 0 <= value < 2**31:
        raise argparse.ArgumentTypeError(f"must be in 0..2^31-1, not {value}")
    return value


def add_flags(p: argparse.ArgumentParser) -> None:
    """The flags `verify` and `rewrite --verify` share."""
    group = p.add_argument_group("host verification")
    group.add_argument("--cc", metavar="CC", help="host C compiler (default: gcc, else clang)")
    group.add_argument(
        "--runs", type=_positive, default=5, metavar="N", help="seeded inputs to try (default 5)"
    )
    group.add_argument("--seed", type=_seed, default=1, metavar="S", help="first seed (default 1)")
    for kind in KINDS:
        group.add_argument(
            f"--{kind}",
            dest=f"{kind}_sizes",
            action="append",
            default=[],
            metavar="NAME=BYTES",
            help=f"size of {kind} NAME (repeatable)",
        )
    group.add_argument(
        "--lib-src",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="compile every .c below DIR (e.g. your CMSIS-NN Source/) instead of crewrite's "
        "host kernels, with the DSP code paths a Cortex-M takes (repeatable)",
    )
    group.add_argument(
        "--lib-include",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="headers of that library (repeatable)",
    )
    group.add_argument(
        "--cflag",
        action="append",
        default=[],
        metavar="FLAG",
        help="extra compiler flag, e.g. --cflag=-m32 (repeatable)",
    )
    group.add_argument(
        "--sanitize",
        action="store_true",
        help="also run under AddressSanitizer and UndefinedBehaviorSanitizer",
    )
    group.add_argument(
        "--keep", type=Path, metavar="DIR", help="build in DIR and keep it (build.sh, driver)"
    )


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "verify",
        help="prove a rewritten project computes what the original computes",
        description="Prove on this machine that REWRITTEN computes exactly what ORIGINAL "
        "computes: a layout proof read back from the rewritten C, and every output byte of "
        "both builds compared on seeded inputs.",
        epilog=VERIFY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("original", type=Path, metavar="ORIGINAL", help="project as generated")
    p.add_argument("rewritten", type=Path, metavar="REWRITTEN", help="the same, rewritten")
    p.add_argument(
        "-I",
        dest="include_dirs",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="extra include folder, for parsing and compiling (repeatable)",
    )
    p.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="preprocessor define, for parsing and compiling (repeatable)",
    )
    add_flags(p)
    p.add_argument("-q", "--quiet", action="store_true", help="print the verdict only if it fails")


def options_from(args: argparse.Namespace) -> VerifyOptions:
    for folder in (*args.lib_src, *args.lib_include):
        if not folder.is_dir():
            raise CrewriteError("no such folder", folder)
    return VerifyOptions(
        cc=args.cc,
        runs=args.runs,
        first_seed=args.seed,
        sizes={
            kind: parse_overrides(getattr(args, f"{kind}_sizes"), f"--{kind}") for kind in KINDS
        },
        include_dirs=tuple(args.include_dirs),
        defines=tuple(args.defines),
        lib_src=tuple(args.lib_src),
        lib_include=tuple(args.lib_include),
        cflags=tuple(args.cflag),
        sanitize=args.sanitize,
        keep=args.keep,
    )


def run(args: argparse.Namespace) -> int:
    verdict = verify(args.original, args.rewritten, options_from(args))
    if not args.quiet or not verdict.ok:
        sys.stdout.write(verdict.text())
    return 0 if verdict.ok else 1
