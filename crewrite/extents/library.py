"""What library functions outside the sources do to the memory they are handed.

Only what the functions' documented contracts say: `memcpy(d, s, n)` writes `n` bytes of `d`
and reads `n` of `s`; a CMSIS-NN s8 kernel reads each input tensor (`n*h*w*c` elements of the
`cmsis_nn_dims` passed beside it), writes its whole output tensor when it succeeds (the
generated code checks the status and fails the inference otherwise), and uses its scratch
`ctx->buf` within `ctx->size` bytes. A call with another argument count than the one
modelled is an unknown call (every pointer it gets is unbounded): an API version we have not
checked. Argument positions of outputs agree with `crewrite.extract.WRITE_ONLY_OUTPUTS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Where a tensor's element count comes from: the `cmsis_nn_dims` handed at an argument
# position (n*h*w*c), or the product of integer arguments.
DimsArg = tuple[str, tuple[int, ...]]


@dataclass(frozen=True)
class Tensor:
    position: int
    count: DimsArg
    element: int  # bytes per element
    writes: bool  # False: read only


@dataclass(frozen=True)
class Kernel:
    arguments: int
    tensors: tuple[Tensor, ...]
    context: int | None = None  # position of `const cmsis_nn_context*`
    quant: tuple[int, int] | None = None  # per-channel quant params, dims giving channels


def _conv(arguments: int = 11) -> Kernel:
    """The convolution-shaped signature: (ctx, params, quant, in_dims, in, filter_dims,
    filter, bias_dims, bias, out_dims, out)."""
    return Kernel(
        arguments,
        (
            Tensor(4, ("dims", (3,)), 1, False),
            Tensor(6, ("dims", (5,)), 1, False),
            Tensor(8, ("dims", (7,)), 4, False),
            Tensor(10, ("dims", (9,)), 1, True),
        ),
        context=0,
        quant=(2, 9),
    )


def _pool() -> Kernel:
    """(ctx, pool_params, in_dims, in, filter_dims, out_dims, out)."""
    return Kernel(
        7,
        (Tensor(3, ("dims", (2,)), 1, False), Tensor(6, ("dims", (5,)), 1, True)),
        context=0,
    )


KERNELS: dict[str, Kernel] = {
    "arm_convolve_wrapper_s8": _conv(),
    "arm_convolve_s8": _conv(),
    "arm_convolve_1x1_s8_fast": _conv(),
    "arm_depthwise_conv_wrapper_s8": _conv(),
    "arm_depthwise_conv_s8": _conv(),
    "arm_fully_connected_s8": Kernel(
        11,
        (
            Tensor(4, ("dims", (3,)), 1, False),
            Tensor(6, ("dims", (5,)), 1, False),
            Tensor(8, ("dims", (7,)), 4, False),
            Tensor(10, ("dims", (9,)), 1, True),
        ),
        context=0,
    ),
    "arm_avgpool_s8": _pool(),
    "arm_max_pool_s8": _pool(),
    # (input, num_rows, row_size, mult, shift, diff_min, output)
    "arm_softmax_s8": Kernel(
        7, (Tensor(0, ("ints", (1, 2)), 1, False), Tensor(6, ("ints", (1, 2)), 1, True))
    ),
    # (in1, in2, 7 ints, output, 5 ints, block_size)
    "arm_elementwise_add_s8": Kernel(
        16,
        (
            Tensor(0, ("ints", (15,)), 1, False),
            Tensor(1, ("ints", (15,)), 1, False),
            Tensor(9, ("ints", (15,)), 1, True),
        ),
    ),
    # (in1, in2, in1_offset, in2_offset, output, 5 ints, block_size)
    "arm_elementwise_mul_s8": Kernel(
        11,
        (
            Tensor(0, ("ints", (10,)), 1, False),
            Tensor(1, ("ints", (10,)), 1, False),
            Tensor(4, ("ints", (10,)), 1, True),
        ),
    ),
}

# (destination, source or None, size) argument positions.
COPIES: dict[str, tuple[int, int | None, int]] = {
    "memcpy": (0, 1, 2),
    "memmove": (0, 1, 2),
    "__builtin_memcpy": (0, 1, 2),
    "__builtin_memmove": (0, 1, 2),
    "memset": (0, None, 2),
    "__builtin_memset": (0, None, 2),
}

# Functions that return their first argument and touch no memory.
PASS_THROUGH = frozenset(["__builtin_assume_aligned"])

# Workspace calls: TVMBackendAllocWorkspace makes a new buffer, the others touch no byte of
# what they are handed.
NO_ACCESS = frozenset(["TVMBackendFreeWorkspace", "TVMAPISetLastError", "TVMPlatformAbort"])

_MATH = frozenset(
    "exp expf log logf sqrt sqrtf tanh tanhf fabs fabsf floor floorf ceil ceilf round roundf "
    "pow powf fmax fmaxf fmin fminf erf erff sin sinf cos cosf sigmoid abs labs".split()
)
# CMSIS's upper-case intrinsic names, ACLE's lower-case ones (`__smlad`, `__ssat`, `__qadd8`),
# GCC builtins other than the memory and string ones.
_INTRINSIC = re.compile(
    r"^(__builtin_(?!mem|str|alloca|prefetch)\w+|__[A-Z][A-Z0-9_]*"
    r"|__(smla|smls|smul|smua|smus|smmla|smmul|qadd|qsub|qasx|qsax|qdadd|qdsub|ssat|usat|sxt"
    r"|uxt|sadd|ssub|uadd|usub|shadd|shsub|uhadd|uhsub|uqadd|uqsub|pkh|sel|clz|rev|ror|rbit"
    r"|usad|sasx|ssax|uasx|usax|shasx|shsax|uhasx|uhsax)\w*)$"
)


def is_pure(name: str) -> bool:
    """Whether a library function computes on its values only and reaches no memory (Arm
    intrinsics such as `__SMLAD`, math functions)."""
    return name in _MATH or bool(_INTRINSIC.match(name))
