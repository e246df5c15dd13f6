"""The picture (`--svg`): both sides drawn from the plan, every buffer a box with its name in
a tooltip, the peaks marked, labels only where they fit; rendered to PNG (cairosvg) so that
a broken SVG fails here; the example in docs/ is the current one.

After a deliberate change to the picture, regenerate docs/ and look at the PNG:

    CREWRITE_UPDATE_DOCS=1 .venv/bin/python -m pytest tests/picture_test.py
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from xml.etree import ElementTree

import cairosvg
import pytest
from PIL import Image

from crewrite.picture import module_row, svg_picture
from crewrite.pipeline import rewrite_project
from crewrite.project import load_project

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
NS = "{http://www.w3.org/2000/svg}"
UPDATE = os.environ.get("CREWRITE_UPDATE_DOCS") == "1"


def modules_of(root: Path):
    project = load_project([root])
    try:
        return rewrite_project(project).modules
    finally:
        project.close()


@pytest.fixture(scope="module")
def kws_modules():
    return modules_of(ROOT / "fixtures" / "kws_native")


def boxes(svg: str) -> list[ElementTree.Element]:
    """Every box: a group with a tooltip."""
    root = ElementTree.fromstring(svg)
    return [g for g in root.iter(f"{NS}g") if g.find(f"{NS}title") is not None]


def test_one_box_per_held_buffer_before_and_per_live_window_after(kws_modules):
    (m,) = kws_modules
    svg = svg_picture(kws_modules)
    found = boxes(svg)
    windows = sum(len(b.windows) for b in m.liveness.buffers)
    assert len(found) == len(m.liveness.held) + windows
    tips = [g.find(f"{NS}title").text for g in found]
    assert sum("in the stack" in t for t in tips) == len(m.liveness.held) == 32
    assert sum("in the arena" in t for t in tips) == windows
    assert any(
        t.startswith("sid_2#1 of __tvm_main__: 12,000 B (of 12,000) at 90,432 in the arena")
        for t in tips
    )
    # The peaks, the saving and the scale, as a reader sees them.
    for text in ("peak 126.4 KB", "arena 102.4 KB = lower bound", "as written 126.4 KB"):
        assert text in svg
    assert "saves 24.0 KB, 19.0 %" in svg and "KB (1,000 B)" in svg


def test_boxes_sit_where_the_plan_puts_them(kws_modules):
    (m,) = kws_modules
    row = module_row(m)
    placed = {(b.label, b.first): b.offset for b in row.after.boxes}
    for buf in m.liveness.buffers:
        label = buf.site.variable if buf.ranges == 1 else f"{buf.site.variable}#{buf.range}"
        for first, _ in buf.windows:
            assert placed[(label, first)] == m.offsets[buf.id]
    # As written, the stack never holds two buffers in the same bytes at once.
    for a in row.before.boxes:
        for b in row.before.boxes:
            if a is not b and a.first <= b.last and b.first <= a.last:
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset
    assert max(b.offset + b.size for b in row.before.boxes) == m.liveness.as_written_peak
    assert row.before.peak_bytes == m.liveness.as_written_peak


def test_labels_are_drawn_only_inside_boxes_wide_enough(kws_modules):
    svg = svg_picture(kws_modules)
    for group in boxes(svg):
        rect, text = group.find(f"{NS}rect"), group.find(f"{NS}text")
        if text is None:
            continue
        width = float(rect.get("width"))
        assert 0.62 * float(text.get("font-size")) * len(text.text) + 4 <= width


def many_buffers(tmp_path: Path) -> Path:
    """A project with 40 operators of 3 scratch buffers each and 4 tensors: 124 buffers."""
    from helpers.projects import make_project

    ops = []
    calls = []
    for i in range(40):
        sizes = (512 + 64 * (i % 7), 2048 + 256 * (i % 5), 96 + 32 * (i % 3))
        allocs = "".join(
            f"  void* s{j} = TVMBackendAllocWorkspace(1, 0, (uint64_t){n}, 0, 8);\n"
            for j, n in enumerate(sizes)
        )
        uses = "".join(
            f"  for (int32_t k = 0; k < 64; ++k) {{ ((int8_t*)s{j})[k] = a[k]; }}\n"
            for j in range(3)
        )
        frees = "".join(f"  TVMBackendFreeWorkspace(1, 0, s{j});\n" for j in (2, 1, 0))
        ops.append(
            f"int32_t tvmgen_t_fused_op_{i}(int8_t* a, int8_t* b) {{\n{allocs}{uses}"
            "  for (int32_t k = 0; k < 64; ++k) { b[k] = ((int8_t*)s0)[k] + ((int8_t*)s2)[k]; }\n"
            f"{frees}  return 0;\n}}\n"
        )
        calls.append(f"  tvmgen_t_fused_op_{i}(sid_{i % 4}, sid_{(i + 1) % 4});\n")
    sids = "".join(
        f"  void* sid_{j} = TVMBackendAllocWorkspace(1, 0, (uint64_t)4096, 0, 8);\n"
        for j in range(4)
    )
    body = (
        "".join(ops)
        + "int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {\n"
        + sids
        + "  for (int32_t k = 0; k < 64; ++k) { ((int8_t*)sid_0)[k] = x[k]; }\n"
        + "".join(calls)
        + "  for (int32_t k = 0; k < 64; ++k) { y[k] = ((int8_t*)sid_0)[k]; }\n"
        + "".join(f"  TVMBackendFreeWorkspace(1, 0, sid_{j});\n" for j in (3, 2, 1, 0))
        + "  return 0;\n}\n"
    )
    return make_project(tmp_path / "many", body)


def png(svg: str) -> Image.Image:
    return Image.open(io.BytesIO(cairosvg.svg2png(bytestring=svg.encode())))


def test_a_hundred_buffers_render_with_a_legend_of_every_operator(tmp_path):
    (m,) = modules_of(many_buffers(tmp_path))
    assert len(m.liveness.held) >= 124
    svg = svg_picture([m])
    for i in range(40):
        assert f">{i + 1}  op_{i}<" in svg  # numbered in the legend, under the time axis
    image = png(svg)
    width, height = image.size
    assert width == 1230 and height < 900
    colours = image.convert("RGB").getcolors(1 << 20)
    assert colours is not None and len(colours) > 40  # drawn, not blank


def test_docs_example_is_the_current_picture(kws_modules):
    """docs/kws_native.svg is what --svg draws for the bundled example; the PNG beside it
    (shown in the README) is its rendering."""
    svg = svg_picture(kws_modules)
    if UPDATE:
        (DOCS / "kws_native.svg").write_text(svg)
        (DOCS / "kws_native.png").write_bytes(cairosvg.svg2png(bytestring=svg.encode()))
    assert (DOCS / "kws_native.svg").read_text() == svg, "regenerate: see the module docstring"
    committed = Image.open(DOCS / "kws_native.png")
    assert committed.size == png(svg).size
