"""A wheel carries everything crewrite needs: installed outside the repo, it still rewrites."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


def test_wheel_ships_our_headers_and_rewrites_outside_the_checkout(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next((tmp_path / "dist").glob("crewrite-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "crewrite/fake_libc_include/tvm/tvm/runtime/c_backend_api.h" in names
    assert "crewrite/fake_libc_include/libc/stdint.h" in names
    for runtime in ("crewrite_shim.c", "arm_intrinsics.c", "verify_main.c", "cmsis_nn_host.c"):
        assert f"crewrite/hostrt/{runtime}" in names
    assert "crewrite/hostrt/include/crewrite_arm.h" in names
    # The exact searches' C core: the rewrite below never needs it (greedy meets the bound).
    assert "crewrite/packing/fitcore.c" in names
    assert "crewrite/verify/compare.py" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = dict(os.environ, PYTHONPATH=str(site))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "crewrite.cli",
            "rewrite",
            str(REPO / "fixtures" / "kws_native"),
            "--dry-run",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "saved:" in done.stdout
    # verify builds against the runtime inside the installed package
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "crewrite.cli",
            "verify",
            str(REPO / "fixtures" / "usmp_static"),
            str(REPO / "fixtures" / "usmp_static"),
            "--runs",
            "1",
            "--keep",
            str(tmp_path / "builds"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        str(site / "crewrite" / "hostrt")
        in (tmp_path / "builds" / "original" / "build.sh").read_text()
    )
    assert (
        str(site)
        in subprocess.run(
            [sys.executable, "-c", "import crewrite.frontend as f; print(f.FAKE_LIBC)"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        ).stdout
    )
