"""DebugMode: every node run by the backend's kernel and by the op's reference `perform`, compared.

    f = theano.function([x], y, mode=DebugMode())   # or mode="DebugMode"

A call walks the optimized Program instruction by instruction. Each node runs

- on the selected backend's kernel (`check_c_code`): the node alone, as a
  one-instruction Program linked once through the backend's public `link`;
- on the op's NumPy `perform` (`check_py_code`), the specification;

on the same input values, and DebugMode checks, raising at the first problem:

- both results against the node's declared output types (dtype, ndim,
  static shape, so broadcastable dims too): `InvalidValueError`;
- the kernel against `perform`: dtype, shape, values within the dtype's
  tolerance, NaN and Inf in the same places: `BadThunkOutput`;
- memory: an output sharing memory with an input it does not declare
  (`view_map`, `destroy_map`, `aliased_outputs`) or with another output:
  `BadViewMap`; an input not in `destroy_map` changed (compared with a copy
  taken before): `BadDestroyMap`. Inputs an op may destroy are given to it
  as copies with the same strides, so each implementation sees the same data;
- `check_isfinite`: a float output holding NaN or Inf: `InvalidValueError`;
- `check_preallocated_output`: the kernel is run again with its output
  buffers pre-filled with garbage (runtimes with a buffer pool, whose
  executable has `alloc(shape, dtype)`), and must give the same result;

then the outputs of the optimized program against the graph as written (run
on the python reference backend): `BadOptimization`. The messages name the
node, the kernel, both results (summarized), the input shapes and dtypes and
the line of user code that built the node. DebugMode is slow by design: it
checks kernels, ops and rewrites; it is not a way to run.
"""

from __future__ import annotations

import copy

import numpy as np

from graphcore.backends.interpreter import RegisterLayout, check_outputs
from graphcore.backends.program import build_program
from graphcore.backends.python import PythonExecutable
from graphcore.compile.mode import Mode
from graphcore.compile.profiling import ProfileStats
from graphcore.graph.basic import Constant
from graphcore.graph.fg import FunctionGraph
from graphcore.graph.trace import format_trace, reraise_with_node_info


class DebugModeError(Exception):
    """A check of DebugMode failed: a kernel, an op or a rewrite computes the wrong thing."""


class BadThunkOutput(DebugModeError):
    """The backend's kernel and the op's `perform` disagree on a node."""


class BadOptimization(DebugModeError):
    """The optimized program and the graph as written disagree."""


class BadDestroyMap(DebugModeError):
    """A kernel or `perform` overwrote an input its op does not declare in `destroy_map`."""


class BadViewMap(DebugModeError):
    """An output shares memory with an input (or another output) its op does not declare."""


class InvalidValueError(DebugModeError):
    """An output is not a valid value of its declared type, or holds NaN/Inf (check_isfinite)."""


class DebugMode(Mode):
    """A Mode that runs every node on the backend's kernel and on `perform` and compares them.

    linker: the backend whose kernels are checked (None: config.device).
    check_c_code: run the backend's kernel of each node (Theano's name for the C code).
    check_py_code: run each op's `perform` and compare the kernel with it.
    check_isfinite: a NaN or Inf in a float output is an error.
    check_preallocated_output: also run each kernel over garbage-filled output buffers
    (Theano's list of strategies is accepted; any non-empty value turns the check on).
    check_inputs: compare the inputs a node may not overwrite with a copy (and aliasing).
    """

    keeps_original = True  # FunctionMaker keeps a copy of the graph before optimization

    def __init__(self, optimizer="default", linker=None, check_c_code=True, check_py_code=True,
                 check_isfinite=True, check_preallocated_output=False, check_inputs=True,
                 stability_patience=None, require_matching_strides=None):
        # stability_patience and require_matching_strides: Theano's, accepted and unused (rewrites
        # here are deterministic; strides are checked by running kernels on the real layouts)
        super().__init__(linker=linker, optimizer=optimizer, name="DebugMode")
        self.check_c_code = bool(check_c_code)
        self.check_py_code = bool(check_py_code)
        self.check_isfinite = bool(check_isfinite)
        self.check_preallocated_output = bool(check_preallocated_output)
        self.check_inputs = bool(check_inputs)

    def link(self, maker, backend, program):
        reference = PythonExecutable(build_program(maker.original_fgraph))
        return DebugExecutable(self, backend, program, reference, maker.original_fgraph)

    def __repr__(self):
        return (f"DebugMode(optimizer={self.optimizer_name!r}, linker={self.linker!r}, "
                f"check_c_code={self.check_c_code}, check_py_code={self.check_py_code}, "
                f"check_isfinite={self.check_isfinite}, "
                f"check_preallocated_output={self.check_preallocated_output})")


# ------------------------------------------------------------------ one node on the backend
class NodeKernel:
    """One node alone, linked by a backend: `run(input values of the node) -> output values`."""

    def __init__(self, backend, node):
        self.node = node
        # the node's non-constant inputs, once each, become the inputs of a one-node graph
        self.positions, seen = [], set()
        for k, var in enumerate(node.inputs):
            if not isinstance(var, Constant) and var not in seen:
                seen.add(var)
                self.positions.append(k)
        inputs = [node.inputs[k] for k in self.positions]
        destroyed = {j for js in node.op.destroy_map.values() for j in js}
        mutable = {n for n, k in enumerate(self.positions) if k in destroyed}
        fgraph = FunctionGraph(inputs, list(node.outputs), clone=True, mutable_inputs=mutable,
                               backend=backend)
        self.executable = backend.link(build_program(fgraph, mutable_inputs=mutable))
        self.label = f"{backend.name} {_kernel_kind(self.executable)} kernel"

    def run(self, values):
        return list(self.executable([values[k] for k in self.positions]))


def _kernel_kind(executable):
    """native / blas / view / perform ...: the kind a runtime reports for its only instruction,
    read through the profiling protocol (compile/profiling.py) every runtime may implement."""
    if not hasattr(executable, "enable_profile"):
        return "opaque"
    stats = ProfileStats()
    executable.enable_profile(stats)
    executable.enable_profile(None)
    kinds = [kind for op, kind in stats.labels if op not in ("jump", "jump_unless")]
    return kinds[0] if kinds else "opaque"


def _perform(node, values):
    cells = [[None] for _ in node.outputs]
    try:
        node.op.perform(node, values, cells)
    except Exception as exc:
        reraise_with_node_info(node, values, exc)
    return [c[0] for c in cells]


# ------------------------------------------------------------------ the checking executable
class DebugExecutable:
    """Interprets a Program node by node with DebugMode's checks (see the module docstring)."""

    def __init__(self, mode, backend, program, reference, original_fgraph):
        self.mode = mode
        self.program = program
        self.reference, self.original_fgraph = reference, original_fgraph
        self.layout = RegisterLayout(program)
        use_kernel = mode.check_c_code and backend.name != "python"  # python: perform is its kernel
        self.steps = []
        for ins in program.instructions:
            if ins.kind == "apply":
                kernel = NodeKernel(backend, ins.node) if use_kernel else None
                self.steps.append(("apply", ins, kernel))
            else:
                self.steps.append((ins.kind, ins, None))

    def __call__(self, values):
        regs = self.layout.registers(values)
        pc, n = 0, len(self.steps)
        while pc < n:
            kind, ins, kernel = self.steps[pc]
            if kind == "apply":
                outs = self._check_node(pc, ins, kernel, [regs[i] for i in ins.inputs])
                for s, v in zip(ins.outputs, outs):
                    regs[s] = v
                for s in ins.frees:
                    regs[s] = None
                pc += 1
            elif kind == "jump":
                pc = ins.target
            else:
                pc = pc + 1 if bool(regs[ins.cond]) else ins.target
        got = [regs[s] for s in self.layout.output_slots]
        self._compare_with_original(values, got)
        return got

    # -- one node -------------------------------------------------------------------------
    def _check_node(self, pc, ins, kernel, args):
        node, mode = ins.node, self.mode
        results = []  # the reference first: a wrong perform is reported as such
        if mode.check_py_code or kernel is None:
            results.append(("perform", self._run_checked(node, "perform",
                                                         lambda v: _perform(node, v), args)))
        if kernel is not None:
            results.append((kernel.label, self._run_checked(node, kernel.label, kernel.run, args)))
        if len(results) == 2:
            (_, p_out), (k_label, k_out) = results
            for o, (k, p) in enumerate(zip(k_out, p_out)):
                problem = _difference(node.outputs[o].type, k, p)
                if problem is not None:
                    raise BadThunkOutput(_report(
                        f"the {k_label} and the op's perform disagree on output {o}: {problem}",
                        node, pc, k_label, args, [(k_label, k), ("perform", p)]))
        if kernel is not None and mode.check_preallocated_output:
            self._check_preallocated(pc, node, kernel, args, results[-1][1])
        return results[-1][1]  # the backend's result when it ran: what the user would get

    def _run_checked(self, node, label, run, args, isfinite=True):
        """Run one implementation on `args` (destroyed inputs as copies) and check its memory
        behaviour and its output types."""
        op, mode = node.op, self.mode
        destroyed = {j for js in op.destroy_map.values() for j in js}
        saved = [_snapshot(a) if mode.check_inputs and j not in destroyed else None
                 for j, a in enumerate(args)]
        call_args = [_same_layout_copy(a) if j in destroyed else a for j, a in enumerate(args)]
        outs = run(call_args)
        for j, (a, before) in enumerate(zip(args, saved)):
            if before is not None and not _unchanged(a, before):
                np.copyto(a, before)  # the caller's value as it was
                raise BadDestroyMap(_report(
                    f"{label} overwrote input {j} ({node.inputs[j]}), which {op}.destroy_map "
                    f"({dict(op.destroy_map)}) does not declare", node, None, label, args,
                    [(f"input {j} before", before)]))
        if mode.check_inputs:
            _check_aliasing(node, label, call_args, outs, args)
        try:
            check_outputs(node, [[v] for v in outs])
        except (TypeError, ValueError) as exc:
            raise InvalidValueError(_report(f"{label} gave a value that is not of the declared "
                                            f"type: {exc}", node, None, label, args,
                                            [(label, v) for v in outs])) from None
        if mode.check_isfinite and isfinite:
            for o, v in enumerate(outs):
                if isinstance(v, np.ndarray) and v.dtype.kind in "fc" and \
                        not np.isfinite(v).all():
                    raise InvalidValueError(_report(
                        f"output {o} of {label} holds NaN or Inf (DebugMode(check_isfinite="
                        f"False) allows it)", node, None, label, args, [(label, v)]))
        return outs

    def _check_preallocated(self, pc, node, kernel, args, expected):
        alloc = getattr(kernel.executable, "alloc", None)
        if alloc is None:
            return
        for v in expected:
            if isinstance(v, np.ndarray):
                garbage = alloc(v.shape, v.dtype)
                if garbage.dtype.kind in "fc":
                    garbage.fill(np.nan)
                else:
                    garbage.reshape(-1).view(np.uint8).fill(0xA5)
                del garbage  # back in the pool: the next request of this shape gets it
        label = f"{kernel.label} over garbage-filled output buffers"
        again = self._run_checked(node, label, kernel.run, args, isfinite=False)
        for o, (g, e) in enumerate(zip(again, expected)):
            problem = _difference(node.outputs[o].type, g, e)
            if problem is not None:
                raise BadThunkOutput(_report(
                    f"output {o} changes when the output buffers hold garbage first (the "
                    f"kernel reads memory it has not written): {problem}", node, pc, label, args,
                    [(label, g), (kernel.label, e)]))

    # -- the whole function against the graph as written ------------------------------------
    def _compare_with_original(self, values, got):
        expected = self.reference([_same_layout_copy(v) for v in values])
        for k, (g, e) in enumerate(zip(got, expected)):
            var = self.original_fgraph.outputs[k]
            problem = _difference(var.type, g, e)
            if problem is not None:
                raise BadOptimization(
                    f"DebugMode: output {k} ({var}) of the optimized program differs from the "
                    f"original graph: {problem}\n  optimized: {_summary(g)}\n  original:  "
                    f"{_summary(e)}")

    def free(self):
        pass


# ------------------------------------------------------------------ values
def _same_layout_copy(a):
    """A copy of `a` with the same strides (negative, zero and gaps included), so a kernel
    destroying it sees exactly the layout the real program gives it."""
    if not isinstance(a, np.ndarray):
        return copy.deepcopy(a)
    if a.size == 0 or a.flags.c_contiguous or a.flags.f_contiguous:
        return a.copy(order="K")
    lo = hi = 0  # byte offsets of the first and one past the last element from a's start
    for n, st in zip(a.shape, a.strides):
        if st > 0:
            hi += (n - 1) * st
        else:
            lo += (n - 1) * st
    buf = np.empty(hi - lo + a.itemsize, dtype=np.uint8)
    out = np.ndarray(a.shape, a.dtype, buffer=buf, offset=-lo, strides=a.strides)
    out[...] = a
    return out


def _snapshot(a):
    if isinstance(a, np.ndarray):
        return a.copy()
    if isinstance(a, np.random.Generator):
        return a.bit_generator.state
    return None


def _unchanged(a, before):
    if isinstance(a, np.ndarray):
        return a.shape == before.shape and np.array_equal(a, before, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, np.random.Generator):
        return a.bit_generator.state == before
    return True


def _shares(a, b):
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or a.size == 0 or b.size == 0:
        return False
    if not np.may_share_memory(a, b):
        return False
    try:
        return np.shares_memory(a, b, max_work=1 << 20)
    except np.exceptions.TooHardError:
        return True


def _check_aliasing(node, label, call_args, outs, args):
    op = node.op
    declared = {o: set(js) for o, js in op.aliased_outputs(node).items()}
    for o, js in op.destroy_map.items():
        declared.setdefault(o, set()).update(js)
    for o, v in enumerate(outs):
        for j, a in enumerate(call_args):
            if j not in declared.get(o, ()) and _shares(v, a):
                raise BadViewMap(_report(
                    f"output {o} of {label} shares memory with input {j} ({node.inputs[j]}), "
                    f"which {op} does not declare (view_map {dict(op.view_map)}, destroy_map "
                    f"{dict(op.destroy_map)})", node, None, label, args, [(label, v)]))
        for o2 in range(o):
            if _shares(v, outs[o2]) and not (declared.get(o, set()) & declared.get(o2, set())):
                raise BadViewMap(_report(
                    f"outputs {o2} and {o} of {label} share memory", node, None, label, args,
                    [(label, v)]))


def _difference(vtype, got, want):
    """Why `got` is not `want` (values of type `vtype`), or None when they agree."""
    if isinstance(want, np.ndarray) or isinstance(got, np.ndarray):
        g, w = np.asarray(got), np.asarray(want)
        if g.dtype != w.dtype:
            return f"dtype {g.dtype} vs {w.dtype}"
        if g.shape != w.shape:
            return f"shape {g.shape} vs {w.shape}"
        eq = getattr(vtype, "values_eq_approx", None)
        if (eq(g, w) if eq is not None else np.array_equal(g, w)):
            return None
        if g.dtype.kind in "fc":
            g_nan, w_nan = np.isnan(g), np.isnan(w)
            if (g_nan != w_nan).any():
                where = tuple(int(i) for i in np.argwhere(g_nan != w_nan)[0])
                return f"NaN in different places (first at index {where})"
        if g.dtype.kind in "biufc" and g.size:
            with np.errstate(invalid="ignore", over="ignore"):
                diff = np.abs(g.astype(np.complex128 if g.dtype.kind == "c" else np.float64)
                              - w.astype(np.complex128 if w.dtype.kind == "c" else np.float64))
            diff = np.where(np.isnan(diff), np.inf, diff)
            at = np.unravel_index(int(np.argmax(diff)), g.shape)
            return (f"largest difference {float(diff[at]):.6g} at index "
                    f"{tuple(int(i) for i in at)} ({g[at]!r} vs {w[at]!r})")
        return "values differ"
    same = vtype.values_eq(got, want)
    return None if same else "values differ"


def _summary(v):
    if isinstance(v, np.ndarray):
        body = np.array2string(v, threshold=12, edgeitems=3, precision=6, max_line_width=100)
        return f"dtype={v.dtype} shape={v.shape} strides={v.strides} {body}"
    return f"{type(v).__name__} {v!r}"[:200]


def _report(what, node, pc, label, args, values):
    where = f" (instruction {pc} of the optimized program)" if pc is not None else ""
    lines = [f"DebugMode: {what}",
             f"  node: {node}{where}",
             f"  kernel: {label}"]
    lines.extend(f"  {name}: {_summary(v)}" for name, v in values)
    lines.append("  inputs: " + ", ".join(
        f"shape={v.shape} dtype={v.dtype} strides={v.strides}" if isinstance(v, np.ndarray)
        else type(v).__name__ for v in args))
    frames = getattr(node.tag, "trace", ())
    if frames:
        lines.append("  the node was created at (most recent call last):\n" + format_trace(frames))
    return "\n".join(lines)
