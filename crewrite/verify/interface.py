"""What the verify driver hands `tvmgen_<mod>_run`: every input, output and workspace pool of
every module, with its size in bytes.

The module header (`tvmgen_<mod>.h`, TVM's C interface) names the struct members and the run
function's parameters. Sizes come from the first of these that knows them:

1. the user: `--input NAME=BYTES`, `--output NAME=BYTES`, `--pool NAME=BYTES`;
2. the module header's size defines: `TVMGEN_<MOD>_<NAME>_SIZE` (TVM 0.11 and later) and
   `TVMGEN_<MOD>_<POOL>_WORKSPACE_POOL_SIZE`;
3. the Model Library Format `metadata.json`: `inputs` / `outputs` of the module's
   `memory.functions.main` entries (TVM 0.10 and later: `size` in bytes and `dtype`, or a
   `shape`), and the `sids` that carry an `input_binding` (TVM 0.8, graph executor);
4. arrays named after the tensor in the project's own `include/` and `src/` headers
   (`int8_t input_data[490]`, `const size_t input_data_len = 490;`).

A size found nowhere is guessed (1 MiB) with a warning: the driver's guard bytes catch a
guess that was too small.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pycparser import c_ast

from crewrite.errors import CrewriteError
from crewrite.frontend import parse_source
from crewrite.project import APP_FOLDERS, HEADER_NAME, Project, read_text

GUESS_BYTES = 1 << 20
KINDS = ("input", "output", "pool")
_STRUCTS = {"inputs": "input", "outputs": "output", "workspace_pools": "pool"}
_DTYPE = re.compile(r"^(?:u?int|float|bfloat)(\d+)$")
_C_TYPES = {
    "int8_t": ("int8", 1),
    "uint8_t": ("uint8", 1),
    "char": ("int8", 1),
    "signed char": ("int8", 1),
    "unsigned char": ("uint8", 1),
    "int16_t": ("int16", 2),
    "uint16_t": ("uint16", 2),
    "int32_t": ("int32", 4),
    "uint32_t": ("uint32", 4),
    "int": ("int32", 4),
    "float": ("float32", 4),
    "double": ("float64", 8),
}
_ARRAY = re.compile(
    r"\b(?P<type>(?:unsigned |signed )?[A-Za-z_]\w*)\s+(?P<name>[A-Za-z_]\w*)\s*"
    r"\[\s*(?P<dim>\d*)\s*\]\s*(?:__attribute__\s*\(\(.*?\)\)\s*)?(?P<init>=\s*\{)?"
)
_LEN = re.compile(r"\b(?P<name>[A-Za-z_]\w*)_len\s*=\s*(?P<n>\d+)\s*;")


@dataclass(frozen=True)
class Tensor:
    """One buffer the application hands the model."""

    module: str
    kind: str  # "input", "output" or "pool"
    name: str  # member of tvmgen_<mod>_inputs / _outputs / _workspace_pools
    size: int  # bytes
    dtype: str | None  # e.g. "int8", "float32", when a source says
    source: str  # where the size comes from, for the verdict

    @property
    def label(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(frozen=True)
class ModuleInterface:
    module: str
    header: str  # file name the driver includes
    run_params: tuple[str, ...]  # struct of each parameter of tvmgen_<mod>_run, in order
    tensors: tuple[Tensor, ...]
    maps_io: bool  # inputs and outputs live in the pools: tvmgen_<mod>_map_inputs/_outputs

    def of_kind(self, kind: str) -> tuple[Tensor, ...]:
        return tuple(t for t in self.tensors if t.kind == kind)


@dataclass(frozen=True)
class Interface:
    modules: tuple[ModuleInterface, ...]
    notes: tuple[str, ...] = ()

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        return tuple(t for m in self.modules for t in m.tensors)

    def describe(self) -> list[str]:
        lines = []
        for m in self.modules:
            parts = [
                f"{t.kind} {t.name} {t.size:,} B"
                + (f" {t.dtype}" if t.dtype else "")
                + f" ({t.source})"
                for t in m.tensors
            ]
            lines.append(f"module {m.module}: " + "; ".join(parts))
        return lines


def c_name(name: str) -> str:
    """A tensor name as TVM spells it in C (its SanitizeName: anything else becomes '_')."""
    return re.sub(r"[^0-9A-Za-z_]", "_", name)


def dtype_bytes(dtype: str, shape: list[int]) -> int | None:
    match = _DTYPE.match(dtype.strip())
    if dtype.strip() == "bool":
        bits = 8
    elif match is None:
        return None
    else:
        bits = int(match.group(1))
    return (math.prod(int(d) for d in shape) * bits + 7) // 8


def parse_overrides(values: list[str], flag: str) -> dict[str, int]:
    """`NAME=BYTES` (NAME may be `module.name`) from the command line."""
    out: dict[str, int] = {}
    for value in values:
        name, sep, size = value.partition("=")
        if not sep or not name or not size.strip().isdigit():
            raise CrewriteError(f"{flag} {value!r}: expected NAME=BYTES, e.g. {flag} input_1=6912")
        out[name.strip()] = int(size)
    return out


# -- the module header ---------------------------------------------------------------------


def _struct_members(ast: c_ast.FileAST, tag: str) -> list[str] | None:
    for ext in ast.ext:
        node = ext.type if isinstance(ext, c_ast.Decl) else None
        if isinstance(node, c_ast.Struct) and node.name == tag and node.decls is not None:
            return [d.name for d in node.decls if d.name]
    return None


def _param_structs(ast: c_ast.FileAST, function: str) -> list[str] | None:
    for ext in ast.ext:
        if not (isinstance(ext, c_ast.Decl) and ext.name == function):
            continue
        if not isinstance(ext.type, c_ast.FuncDecl):
            continue
        tags = []
        for param in ext.type.args.params if ext.type.args else []:
            node = param.type if isinstance(param, c_ast.Decl) else param
            while isinstance(node, (c_ast.PtrDecl, c_ast.TypeDecl)):
                node = node.type
            if isinstance(node, c_ast.Struct) and node.name:
                tags.append(node.name)
            elif isinstance(node, c_ast.IdentifierType) and node.names == ["void"]:
                continue
            else:
                tags.append("")
        return tags
    return None


def _declares(ast: c_ast.FileAST, function: str) -> bool:
    return any(isinstance(e, c_ast.Decl) and e.name == function for e in ast.ext)


def _module_header(project: Project, module: str) -> str:
    """The generated header of a module (a copy in the application's folders only if the
    generated one is missing)."""
    candidates = [h for h in project.headers if PurePosixPath(h).name == f"tvmgen_{module}.h"]
    candidates.sort(key=lambda h: ("codegen/host/include/" not in h, h))
    return candidates[0]


def _header_sizes(text: str, module: str) -> dict[str, int]:
    """`#define TVMGEN_<MOD>_<NAME>_SIZE N` -> {NAME: N} (upper-case NAME)."""
    prefix = re.escape(f"TVMGEN_{module.upper()}_")
    found = {}
    for match in re.finditer(rf"#\s*define\s+{prefix}(\w+)_SIZE\s+\(?\s*(\d+)", text):
        found[match.group(1)] = int(match.group(2))
    found.pop("WORKSPACE", None)
    return found


# -- metadata.json ---------------------------------------------------------------------------


def _tensor_entries(value: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(name, description) from `{"name": {...}}` or `[{"name": ..., ...}]`."""
    if isinstance(value, Mapping):
        for name, info in value.items():
            if isinstance(info, Mapping):
                yield str(name), info
    elif isinstance(value, list):
        for info in value:
            if isinstance(info, Mapping) and isinstance(info.get("name"), str):
                yield info["name"], info


def _entry_size(info: Mapping[str, Any]) -> int | None:
    for key in ("size", "size_bytes"):
        if isinstance(info.get(key), int) and info[key] >= 0:
            return int(info[key])
    shape, dtype = info.get("shape"), info.get("dtype")
    if isinstance(shape, list) and isinstance(dtype, str):
        if all(isinstance(d, int) for d in shape):
            return dtype_bytes(dtype, shape)
    return None


def _walk(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def metadata_tensors(
    data: Any, module: str, single: bool
) -> dict[tuple[str, str], tuple[int, str | None]]:
    """(kind, C name) -> (bytes, dtype) for one module of a parsed metadata.json."""
    if not isinstance(data, Mapping):
        return {}
    modules = data.get("modules")
    if isinstance(modules, Mapping):
        entry = modules.get(module)
    elif single or data.get("model_name") == module:
        entry = data  # before TVM 0.10: one module, described at the top level
    else:
        entry = None
    if not isinstance(entry, Mapping):
        return {}
    found: dict[tuple[str, str], tuple[int, str | None]] = {}
    for node in _walk(entry):
        for key, kind in (("inputs", "input"), ("outputs", "output")):
            for name, info in _tensor_entries(node.get(key)):
                size = _entry_size(info)
                if size is not None:
                    dtype = info.get("dtype")
                    found.setdefault(
                        (kind, c_name(name)), (size, dtype if isinstance(dtype, str) else None)
                    )
        for sid in node.get("sids", []) if isinstance(node.get("sids"), list) else []:
            if isinstance(sid, Mapping) and isinstance(sid.get("input_binding"), str):
                size = _entry_size(sid)
                if size is not None:
                    found.setdefault(("input", c_name(sid["input_binding"])), (size, None))
    return found


# -- the application's own headers ----------------------------------------------------------


def _app_arrays(project: Project) -> dict[str, tuple[int, str]]:
    """Arrays (and `NAME_len` counts) declared in the application's headers: name -> (bytes,
    dtype)."""
    found: dict[str, tuple[int, str]] = {}
    for folder in APP_FOLDERS:
        for path in sorted((project.root / folder).rglob("*.h")):
            if HEADER_NAME.match(path.name) or not path.is_file():
                continue
            text = read_text(path)
            lengths = {m.group("name"): int(m.group("n")) for m in _LEN.finditer(text)}
            for match in _ARRAY.finditer(text):
                ctype = " ".join(match.group("type").split())
                if ctype not in _C_TYPES:
                    continue
                dtype, width = _C_TYPES[ctype]
                name = match.group("name")
                if match.group("dim"):
                    count = int(match.group("dim"))
                elif name in lengths:
                    count = lengths[name]
                elif match.group("init"):
                    count = _initializer_count(text, match.end())
                else:
                    continue
                found.setdefault(name, (count * width, dtype))
    return found


def _initializer_count(text: str, start: int) -> int:
    """Elements of the brace initializer that opens just before `start`."""
    end = text.find("}", start)
    body = text[start : end if end >= 0 else len(text)]
    body = re.sub(r"/\*.*?\*/|//[^\n]*", "", body, flags=re.S)
    items = [item for item in body.split(",") if item.strip()]
    return len(items)


def _app_candidates(name: str, kind: str, alone: bool) -> list[str]:
    names = [name, f"{name}_data"]
    if alone and kind != "pool":
        names += [f"{kind}_data", f"{kind}_data0", f"{kind}0", kind]
    return names


# -- putting it together ---------------------------------------------------------------------


def module_interfaces(
    project: Project,
    defines: list[str],
    overrides: Mapping[str, Mapping[str, int]] | None = None,
) -> Interface:
    """Every module's run function and tensors; `overrides` maps kind -> {NAME: bytes}."""
    overrides = overrides or {}
    modules = project.module_names()
    if not modules:
        raise CrewriteError(
            "no module header tvmgen_<mod>.h: crewrite verify calls tvmgen_<mod>_run, the "
            "AOT executor's C interface (interface-api=c)",
            project.given or project.root,
        )
    metadata = []
    for rel in project.metadata:
        try:
            metadata.append((rel, json.loads(project.texts[rel])))
        except ValueError:
            continue
    app = _app_arrays(project)
    result, notes = [], []
    for module in modules:
        rel = _module_header(project, module)
        text = project.texts[rel]
        unit = parse_source(rel, project.path(rel), text, project.include_dirs, defines)
        prefix = f"tvmgen_{module}_"
        params = _param_structs(unit.ast, f"{prefix}run")
        if params is None:
            raise CrewriteError(
                f"no declaration of {prefix}run: crewrite verify drives the AOT executor's C "
                "interface (interface-api=c)",
                project.display(rel),
            )
        kinds = []
        for tag in params:
            kind = tag[len(prefix) :] if tag.startswith(prefix) else ""
            if kind not in (*_STRUCTS, "devices"):
                raise CrewriteError(
                    f"{prefix}run takes a parameter crewrite verify cannot build "
                    f"({tag or 'not a struct pointer'})",
                    project.display(rel),
                )
            kinds.append(kind)
        members = {struct: _struct_members(unit.ast, prefix + struct) or [] for struct in _STRUCTS}
        defined = _header_sizes(text, module)
        described: dict[tuple[str, str], tuple[int, str | None]] = {}
        for _, data in metadata:
            for key, value in metadata_tensors(data, module, len(modules) == 1).items():
                described.setdefault(key, value)
        tensors = []
        for struct, kind in _STRUCTS.items():
            names = members[struct]
            for name in names:
                tensor, note = _size_of(
                    module,
                    kind,
                    name,
                    rel,
                    overrides.get(kind, {}),
                    defined,
                    described,
                    app,
                    alone=len(names) == 1,
                )
                tensors.append(tensor)
                notes += note
        result.append(
            ModuleInterface(
                module,
                PurePosixPath(rel).name,
                tuple(kinds),
                tuple(tensors),
                maps_io="inputs" not in kinds and _declares(unit.ast, f"{prefix}map_inputs"),
            )
        )
    for kind, values in overrides.items():
        for name in values:
            if not any(
                t.kind == kind and name in (t.name, t.label) for m in result for t in m.tensors
            ):
                known = ", ".join(t.label for m in result for t in m.of_kind(kind)) or "none"
                raise CrewriteError(f"--{kind} {name}: no such {kind} (the project has: {known})")
    return Interface(tuple(result), tuple(notes))


def _size_of(
    module: str,
    kind: str,
    name: str,
    header: str,
    given: Mapping[str, int],
    defined: Mapping[str, int],
    described: Mapping[tuple[str, str], tuple[int, str | None]],
    app: Mapping[str, tuple[int, str]],
    alone: bool,
) -> tuple[Tensor, list[str]]:
    header_name = Path(header).name
    key = name.upper() + ("_WORKSPACE_POOL" if kind == "pool" else "")
    meta = described.get((kind, name)) or next(
        (v for (k, n), v in described.items() if k == kind and n.lower() == name.lower()), None
    )
    dtype = meta[1] if meta else None
    found: list[tuple[int, str]] = []
    for label in (f"{module}.{name}", name):
        if label in given:
            found.append((given[label], f"--{kind}"))
            break
    if key in defined:
        found.append((defined[key], header_name))
    if meta is not None:
        found.append((meta[0], "metadata.json"))
    for candidate in _app_candidates(name, kind, alone):
        if candidate in app:
            found.append((app[candidate][0], f"array {candidate} in the application"))
            dtype = dtype or app[candidate][1]
            break
    notes = []
    if not found:
        notes.append(
            f"size of {kind} {module}.{name} found nowhere (header, metadata.json, application "
            f"headers): guessed {GUESS_BYTES:,} B; pass --{kind} {name}=BYTES"
        )
        return Tensor(module, kind, name, GUESS_BYTES, dtype, "guessed"), notes
    size, source = found[0]
    for other, where in found[1:]:
        if other != size and not source.startswith("--"):
            notes.append(
                f"{kind} {module}.{name}: {size:,} B in {source} but {other:,} B in {where}; "
                f"using {size:,} B"
            )
    return Tensor(module, kind, name, size, dtype, source), notes
