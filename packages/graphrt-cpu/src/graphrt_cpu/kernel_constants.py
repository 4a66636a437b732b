"""The native kernels' limits and mode numbers: one source for the C build and the lowering.

`tools/gen_kernels.py` writes them into ``constants_generated.h`` (``GRC_*``
defines) at build time, the Cython kernels and C loops size their arrays and
pick their cases with those defines, and the lowering (``lowerings.py``) and
the backend (``CPUBackend.max_operands``) read this module. Like ewspec.py it
is plain data with no imports, so the generator can load it by path.
"""

# dimensions of one array a native kernel takes (the public plugin ABI's
# GRAPHRT_MAX_NDIM in include/graphrt_cpu.h must equal it: the build checks)
MAX_NDIM = 64
# registers of one elementwise program (each a block of 1024 elements)
MAX_REGISTERS = 512
# inputs + outputs of one native elementwise kernel; every operand takes a register,
# half the register file leaves room for the temporaries of a fused expression
MAX_OPERANDS = 256
# reductions: the kernel's op code is the position in this tuple (Reduce's scalar op name)
REDUCE_OPS = ("add", "mul", "maximum", "minimum", "and", "or")
# the softmax family's kernel modes: the position in this tuple
SOFTMAX_MODES = ("softmax", "log_softmax", "softmax_grad", "log_softmax_grad")


def c_defines():
    """The C ``#define`` lines of these constants (written by the build's generator)."""
    lines = [f"#define GRC_MAX_NDIM {MAX_NDIM}", f"#define GRC_MAX_REGISTERS {MAX_REGISTERS}",
             f"#define GRC_MAX_OPERANDS {MAX_OPERANDS}"]
    lines += [f"#define GRC_REDUCE_{name.upper()} {k}" for k, name in enumerate(REDUCE_OPS)]
    lines += [f"#define GRC_{name.upper()} {k}" for k, name in enumerate(SOFTMAX_MODES)]
    return "\n".join(lines)
