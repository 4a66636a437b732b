"""The Scan lowering: a loop whose step was compiled for this backend runs in the VM.

`ScanKernel` (kernels_scan.pxi) runs each step on the step function's own VM
with no Function call in between. It declines (the node runs
`Scan.perform`, which calls the step function once per step) when:

- a state is carried privately (a non-tensor state such as a random
  generator drawn inside the step: the step function keeps it in a shared
  variable that its update advances);
- the step was not compiled into a graphrt-cpu VM (`scan(mode=...)` chose
  another backend, or a checking mode wraps the executable);
- the step function reads shared values or has updates of its own;
- an output has more than MAX_NDIM dimensions.
"""

from __future__ import annotations

from graphcore.scan import Scan

from graphrt_cpu import _vm
from graphrt_cpu.backend import register_lowering
from graphrt_cpu.kernel_constants import MAX_NDIM


@register_lowering(Scan)
def lower_scan(node, ins):
    op = node.op
    info = op.info
    if op.carried_privately or any(o.type.ndim > MAX_NDIM for o in node.outputs):
        return None
    fn = op.fn  # the step function, compiled now rather than on the first call
    exe = fn.executable
    plan = fn.call_plan
    if not isinstance(exe, _vm.VM) or plan.shared_containers or plan.updates:
        return None
    program = exe.program
    if len(program.inputs) != len(op.inner_inputs) or \
            len(program.outputs) != len(op.inner_outputs):
        return None
    # outputs held in the step's temporaries are dropped after each step (pooled buffers)
    clear = sorted({s for s in program.outputs if program.slots[s].role == "temp"})
    n_varying = info.n_seqs + info.n_tap_inputs
    static = [(j, c) for j, c in enumerate(plan.input_checks) if not c.free_shape]
    copy_last = [k for k in range(info.n_states)
                 if not info.keep_all[k] and k in plan.copy_outputs]
    return _vm.ScanKernel(node, exe, clear, [(j, c) for j, c in static if j < n_varying],
                          [(j, c) for j, c in static if j >= n_varying], copy_last)
