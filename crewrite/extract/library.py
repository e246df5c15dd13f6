"""Facts about library kernels whose source crewrite does not see.

Every pointer handed to a function outside the sources counts as read and written (it keeps
none: see the README's assumptions), except where a fact below says less.
"""

from __future__ import annotations

# Library kernels whose output tensor is only written, never read (CMSIS-NN s8 kernels compute
# every output element from inputs and scratch, then store it): (position of that argument,
# number of arguments of the prototype it belongs to). A call with another argument count (an
# API version we have not checked) and every other pointer that a function outside the
# sources receives count as read and written.
WRITE_ONLY_OUTPUTS = {
    "arm_convolve_wrapper_s8": (10, 11),
    "arm_convolve_s8": (10, 11),
    "arm_convolve_1x1_s8_fast": (10, 11),
    "arm_depthwise_conv_wrapper_s8": (10, 11),
    "arm_depthwise_conv_s8": (10, 11),
    "arm_fully_connected_s8": (10, 11),
    "arm_avgpool_s8": (6, 7),
    "arm_max_pool_s8": (6, 7),
    "arm_softmax_s8": (6, 7),
    "arm_elementwise_add_s8": (9, 16),
}


def only_writes(kernel: str | None, position: int, count: int) -> bool:
    """Whether library `kernel`, called with `count` arguments, only writes through the
    pointer it gets at `position`."""
    return kernel is not None and WRITE_ONLY_OUTPUTS.get(kernel) == (position, count)
