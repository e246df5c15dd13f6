"""What TVM's generated C looks like: the workspace calls, the AOT entry's name, and how a
function or file tells which module it belongs to (see PATTERNS.md for the shapes)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pycparser import c_ast

from crewrite.extract.cexpr import call_name, strip_casts

ALLOC = "TVMBackendAllocWorkspace"
FREE = "TVMBackendFreeWorkspace"
ENTRY_SUFFIX = "___tvm_main__"
_LIB_FILE = re.compile(r"^(\w+?)_lib\d+\.c$")


def workspace_call(node: c_ast.Node | None) -> str | None:
    """ALLOC or FREE when `node`, casts aside, is a direct call to that function; else None."""
    if node is None:
        return None
    node = strip_casts(node)
    if not isinstance(node, c_ast.FuncCall):
        return None
    name = call_name(node)
    return name if name in (ALLOC, FREE) else None


def is_entry(name: str) -> bool:
    """The AOT entry, which allocates the `sid`s and calls the operators (`run_model` in
    older TVM)."""
    return name.endswith((ENTRY_SUFFIX, "_run_model"))


def module_of(function: str, file: str, modules: Sequence[str]) -> str | None:
    """The module a function belongs to: by its `tvmgen_<mod>_` prefix (the longest module
    name that matches), else by its file's `<mod>_libN.c` name; None if neither says."""
    for mod in sorted(modules, key=len, reverse=True):
        if function.startswith(f"tvmgen_{mod}_"):
            return mod
    match = _LIB_FILE.match(file.rsplit("/", 1)[-1])
    if match and match.group(1) in modules:
        return match.group(1)
    return None


def modules_of_entries(defined: Iterable[str]) -> list[str]:
    """Module names read off the AOT entries `tvmgen_<mod>___tvm_main__` (for sources given
    without a module header)."""
    return sorted(
        name[len("tvmgen_") : -len(ENTRY_SUFFIX)]
        for name in defined
        if name.startswith("tvmgen_") and name.endswith(ENTRY_SUFFIX)
    )
