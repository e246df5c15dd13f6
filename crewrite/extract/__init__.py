"""Facts from the ASTs: workspace sites, functions, aliases, escapes, read/write summaries and
the call graph, as frozen records (`Program` holds them all).

The modules, in the order they are best read:

- `records`: the frozen records (AllocSite, FreeSite, Call, Access, Unit = UnitShape +
  UnitAccess, Function, Program);
- `tvm`: what TVM's generated C looks like (workspace calls, entry names, module names);
- `cexpr`: C expression helpers on pycparser nodes (constants, pointer flow, pointer calls);
- `textloc`: from AST coordinates back to the original text (call spans, insertion points);
- `sites`: the checked workspace alloc and free sites of a function;
- `flow`: aliases, escapes and jumps inside a function;
- `units`: what each top-level statement mentions;
- `access` and `library`: bytes read and written per statement across calls, and the facts
  about library kernels (CMSIS-NN) whose source we do not see;
- `program`: `extract()`, the phases in order.
"""

from crewrite.extract.cexpr import SCALAR_TYPES, fold_constant, pointer_ids
from crewrite.extract.library import WRITE_ONLY_OUTPUTS
from crewrite.extract.program import extract, identities
from crewrite.extract.records import Access, AllocSite, Call, FreeSite, Function, Program, Unit
from crewrite.extract.tvm import ALLOC, ENTRY_SUFFIX, FREE, is_entry, workspace_call

__all__ = [
    "ALLOC",
    "ENTRY_SUFFIX",
    "FREE",
    "SCALAR_TYPES",
    "WRITE_ONLY_OUTPUTS",
    "Access",
    "AllocSite",
    "Call",
    "FreeSite",
    "Function",
    "Program",
    "Unit",
    "extract",
    "fold_constant",
    "identities",
    "is_entry",
    "pointer_ids",
    "workspace_call",
]
