"""Write crewrite's test fixtures: generated microTVM board projects (Zephyr-like).

    python tools/gen_fixtures.py --out fixtures [NAME ...]

Every fixture is described by a small spec (layers, shapes, seed) in tools/fixturegen/project.py;
the same spec always gives the same bytes.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixturegen.project import SPECS, build_fixture, write_fixture, write_index  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="directory to write fixtures into")
    ap.add_argument(
        "names", nargs="*", help=f"fixtures to write (default: all of {', '.join(SPECS)})"
    )
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    names = args.names or list(SPECS)
    for n in names:
        if n not in SPECS:
            ap.error(f"unknown fixture {n!r}; known: {', '.join(SPECS)}")
    built = []
    for n in names:
        fx = build_fixture(n)
        built.append(fx)
        target = args.out / n
        if target.exists():
            shutil.rmtree(target)
        write_fixture(fx, args.out)
        if not args.quiet:
            sizes = ", ".join(
                f"{m.mod}: workspace {m.workspace_size}, sites {m.sites}" for m in fx.modules
            )
            print(
                f"{n}: {sum(len(t.encode()) for t in fx.files.values())} bytes; {sizes}; "
                f"WORKSPACE_SIZE={fx.workspace_define}"
            )
    if not args.names:
        write_index(built, args.out)  # EXPECTED.json covers every fixture
    return 0


if __name__ == "__main__":
    sys.exit(main())
