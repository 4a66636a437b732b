"""The CPU backend: lowers a Program to the C virtual machine's instruction records.

Lowering maps each instruction's op to a native kernel through the table
`LOWERINGS` (op class -> factory(node, instruction) -> Kernel or None); an
op with no entry, or whose factory declines (a dtype or case without a
native loop), runs its NumPy `perform` inside the VM (`PerformKernel`).
Third-party op packages add entries with `register_lowering`.
"""

from __future__ import annotations

from graphcore.backends.interpreter import check_outputs, output_checks
from graphcore.backends.python import PythonBackend
from graphcore.config import config

from graphrt_cpu import _vm
from graphrt_cpu.kernel_constants import MAX_OPERANDS

LOWERINGS = {}


def register_lowering(op_class, factory=None):
    """Register `factory(node, instruction) -> Kernel | None` for nodes whose op is an `op_class`.

    Usable as a decorator. The factory returns None to decline (the node then
    runs its `perform`). Lookup is by exact class, then along the MRO.
    """
    def deco(f):
        LOWERINGS[op_class] = f
        return f

    return deco if factory is None else deco(factory)


def _find_lowering(op):
    for cls in type(op).__mro__:
        f = LOWERINGS.get(cls)
        if f is not None:
            return f
    return None


def lower_instruction(ins):
    """The kernel that runs `ins` in the VM (native when possible, else the op's perform)."""
    node = ins.node
    factory = _find_lowering(node.op)
    if factory is not None:
        kernel = factory(node, ins)
        if kernel is not None:
            return kernel
    return _vm.PerformKernel(node, output_checks(node), check_outputs)


def lower_program(program):
    """Program -> VM: one C instruction record per Program instruction."""
    steps = []
    for ins in program.instructions:
        if ins.kind == "apply":
            steps.append(("apply", lower_instruction(ins), ins.inputs, ins.outputs, ins.frees))
        elif ins.kind == "jump":
            steps.append(("jump", ins.target))
        elif ins.kind == "jump_unless":
            steps.append(("jump_unless", ins.cond, ins.target))
        else:
            raise ValueError(f"graphrt-cpu: unknown instruction kind {ins.kind!r}")
    n_native = sum(1 for ins in program.instructions if ins.kind == "apply")
    return _vm.VM(program, steps, pool_limit=4 * n_native + 16)


class CPUBackend(PythonBackend):
    """The default CPU runtime: the C VM with native kernels, `perform` for the rest."""

    name = "cpu"
    pip_extra = "cpu"
    max_operands = MAX_OPERANDS  # inputs + outputs of one native elementwise kernel

    def link(self, program):
        _register_builtin_lowerings()
        vm = lower_program(program)
        # the thread count belongs to the compiled function (config.num_threads when it is
        # compiled), not to the process: compiling another function later does not change it
        vm.nthreads = _threads()
        return vm


def _threads():
    n = int(config.num_threads or 0)
    return n if n > 0 else 1


_builtin_done = False


def _register_builtin_lowerings():
    """Fill LOWERINGS with the built-in kernels (on first link: no work at import time)."""
    global _builtin_done
    if _builtin_done:
        return
    _vm.init_vector_math(True)
    from graphrt_cpu import lowerings  # noqa: F401  (registers on import)

    _builtin_done = True
