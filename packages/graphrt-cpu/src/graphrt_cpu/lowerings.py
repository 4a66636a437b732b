"""The built-in native kernels: which ops (and which of their cases) the VM runs in C."""

from __future__ import annotations

import numpy as np

from graphcore.tensor import subtensor as st
from graphcore.tensor.advanced_subtensor import (AdvancedIncSubtensor, AdvancedIncSubtensor1,
                                                 AdvancedSubtensor, AdvancedSubtensor1)
from graphcore.tensor.basic import Alloc
from graphcore.tensor.blas import Gemm, Gemv, Ger
from graphcore.tensor.dot import Dot
from graphcore.tensor.elemwise import DimShuffle, Elemwise
from graphcore.tensor.fused_reduce import FusedReduce
from graphcore.tensor.join import Join
from graphcore.tensor.nnet.crossentropy import (CrossentropySoftmax1HotWithBiasDx,
                                                CrossentropySoftmaxArgmax1HotWithBias)
from graphcore.tensor.nnet.softmax import LogSoftmax, LogSoftmaxGrad, Softmax, SoftmaxGrad
from graphcore.tensor.reduction import Argmax, Reduce
from graphcore.tensor.shape import Reshape, Shape, Shape_i

from graphrt_cpu import _vm
from graphrt_cpu import lowerings_scan  # noqa: F401  (registers the Scan lowering)
from graphrt_cpu.backend import register_lowering
from graphrt_cpu.elemwise_code import compile_elemwise
from graphrt_cpu.kernel_constants import (MAX_NDIM, MAX_OPERANDS, MAX_REGISTERS, REDUCE_OPS,
                                          SOFTMAX_MODES)


@register_lowering(Elemwise)
def lower_elemwise(node, ins):
    if node.outputs[0].type.ndim > MAX_NDIM or len(node.inputs) + len(node.outputs) > MAX_OPERANDS:
        return None
    prog = compile_elemwise(node.op.scalar_op, [i.type.dtype for i in node.inputs],
                            [o.type.dtype for o in node.outputs])
    if prog is None or prog["nregs"] > MAX_REGISTERS:
        return None
    return _vm.ElemwiseKernel(node, prog["code"], prog["nregs"], prog["in_regs"], prog["in_sizes"],
                              prog["out_regs"], prog["out_sizes"], prog["consts"], prog["direct_out"])


@register_lowering(DimShuffle)
def lower_dimshuffle(node, ins):
    return _vm.DimShuffleKernel(node)


@register_lowering(Shape)
def lower_shape(node, ins):
    return _vm.ShapeKernel(node, -1)


@register_lowering(Shape_i)
def lower_shape_i(node, ins):
    return _vm.ShapeKernel(node, node.op.i)


_REDUCE_CODES = {name: k for k, name in enumerate(REDUCE_OPS)}
_LOGICAL = (_REDUCE_CODES["and"], _REDUCE_CODES["or"])
_EXTREMA = (_REDUCE_CODES["maximum"], _REDUCE_CODES["minimum"])


@register_lowering(Reduce)
def lower_reduce(node, ins):
    op = node.op
    code = _REDUCE_CODES.get(op.scalar_op.name)
    in_dtype = node.inputs[0].type.dtype
    out_dtype = node.outputs[0].type.dtype
    if code is None or in_dtype != out_dtype or (op.acc_dtype not in (None, out_dtype)):
        return None
    if code in _LOGICAL and in_dtype != "bool":
        return None
    if in_dtype not in ("float32", "float64", "int32", "int64", "bool") or \
            node.inputs[0].type.ndim > MAX_NDIM:
        return None
    if code not in _LOGICAL and in_dtype == "bool":
        return None
    empty_error = None
    if code in _EXTREMA:
        def empty_error(x, op=op):
            raise ValueError(f"{op}: cannot reduce an empty dimension (input shape {x.shape}) "
                             "with max/min: it has no identity")
    return _vm.ReduceKernel(node, code, np.dtype(in_dtype).num, empty_error)


@register_lowering(Dot)
def lower_dot(node, ins):
    x, y = node.inputs
    dtype = node.outputs[0].type.dtype
    if dtype not in ("float32", "float64") or x.type.dtype != dtype or y.type.dtype != dtype:
        return None
    try:
        return _vm.DotKernel(node)
    except Exception:  # SciPy's BLAS unavailable: perform (np.dot) it is
        return None


def _softmax_lowering(mode):
    def lower(node, ins):
        op = node.op
        out = node.outputs[0].type
        nd = out.ndim
        if out.dtype not in ("float32", "float64") or nd not in (1, 2):
            return None
        if op.axis is None or op.axis not in (nd - 1, -1):
            return None
        if any(i.type.dtype != out.dtype for i in node.inputs):
            return None
        return _vm.SoftmaxKernel(node, mode)

    return lower


for cls, mode in ((Softmax, "softmax"), (LogSoftmax, "log_softmax"),
                  (SoftmaxGrad, "softmax_grad"), (LogSoftmaxGrad, "log_softmax_grad")):
    register_lowering(cls, _softmax_lowering(SOFTMAX_MODES.index(mode)))


@register_lowering(CrossentropySoftmaxArgmax1HotWithBias)
def lower_xent(node, ins):
    x, b, y = node.inputs
    dtype = node.outputs[0].type.dtype
    if dtype not in ("float32", "float64") or x.type.dtype != dtype or b.type.dtype != dtype \
            or y.type.dtype != "int64":
        return None
    return _vm.CrossentropyKernel(node)


@register_lowering(CrossentropySoftmax1HotWithBiasDx)
def lower_xent_dx(node, ins):
    dnll, smv, y = node.inputs
    dtype = node.outputs[0].type.dtype
    if dtype not in ("float32", "float64") or dnll.type.dtype != dtype or smv.type.dtype != dtype \
            or y.type.dtype != "int64":
        return None
    return _vm.CrossentropyDxKernel(node)


def _blas_lowering(kernel_class):
    def lower(node, ins):
        dtype = node.outputs[0].type.dtype
        if dtype not in ("float32", "float64") or any(i.type.dtype != dtype for i in node.inputs):
            return None
        try:
            return kernel_class(node, bool(ins.inplace) and bool(node.op.inplace))
        except Exception:  # SciPy's BLAS unavailable
            return None

    return lower


register_lowering(Gemm, _blas_lowering(_vm.GemmKernel))
register_lowering(Gemv, _blas_lowering(_vm.GemvKernel))
register_lowering(Ger, _blas_lowering(_vm.GerKernel))


@register_lowering(FusedReduce)
def lower_fused_reduce(node, ins):
    op = node.op
    ew_node = op.elemwise.make_node(*node.inputs)
    red_node = op.reduction.make_node(ew_node.outputs[0])
    if red_node.outputs[0].type.dtype != node.outputs[0].type.dtype:
        return None
    ew = lower_elemwise(ew_node, None)
    red = lower_reduce(red_node, None)
    if ew is None or red is None:
        return None
    n = len(node.inputs)
    steps = [(ew, list(range(n)), [n]), (red, [n], [n + 1])]
    return _vm.ChainKernel(node, steps, n + 2, [n + 1])


@register_lowering(Reshape)
def lower_reshape(node, ins):
    return _vm.ReshapeKernel(node)


@register_lowering(AdvancedSubtensor1)
def lower_take(node, ins):
    if node.inputs[1].type.dtype != "int64" or node.inputs[0].type.ndim > MAX_NDIM:
        return None
    return _vm.TakeRowsKernel(node)


@register_lowering(AdvancedIncSubtensor1)
def lower_inc_rows(node, ins):
    x, y, ilist = node.inputs
    dtype = node.outputs[0].type.dtype
    if dtype not in ("float32", "float64") or y.type.dtype != dtype or ilist.type.dtype != "int64":
        return None
    return _vm.IncRowsKernel(node, bool(node.op.inplace) and bool(ins.inplace))


def _array_index_plan(node, index_inputs):
    """(a, k) when the advanced index is `a` full slices, k integer arrays, then full slices
    (x[rows, cols], x[:, rows, cols]) of float32/float64 data, within the kernel's limits;
    None otherwise (boolean masks, ints, partial slices, None, Ellipsis: perform)."""
    x = node.inputs[0].type
    if x.dtype not in ("float32", "float64") or node.outputs[0].type.dtype != x.dtype:
        return None
    kinds = ["a" if e is st.ARR else "s" if e == slice(None) else "?" for e in node.op.idx_list]
    a = kinds.index("a") if "a" in kinds else len(kinds)
    k = 0
    while a + k < len(kinds) and kinds[a + k] == "a":
        k += 1
    if k == 0 or any(c != "s" for c in kinds[:a] + kinds[a + k:]) or len(index_inputs) != k:
        return None
    if any(i.type.dtype != "int64" for i in index_inputs):
        return None
    bnd = max(i.type.ndim for i in index_inputs)
    if x.ndim > MAX_NDIM or x.ndim - k + bnd > MAX_NDIM:
        return None
    return a, k


@register_lowering(AdvancedSubtensor)
def lower_advanced_subtensor(node, ins):
    plan = _array_index_plan(node, node.inputs[1:])
    return None if plan is None else _vm.AdvancedIndexKernel(node, *plan)


@register_lowering(AdvancedIncSubtensor)
def lower_advanced_inc_subtensor(node, ins):
    plan = _array_index_plan(node, node.inputs[2:])
    if plan is None or node.inputs[1].type.dtype != node.inputs[0].type.dtype:
        return None
    return _vm.AdvancedIndexKernel(node, *plan, bool(node.op.inplace) and bool(ins.inplace))


@register_lowering(Argmax)
def lower_argmax(node, ins):
    x = node.inputs[0].type
    if x.dtype not in ("float32", "float64", "int32", "int64") or x.ndim > MAX_NDIM:
        return None
    return _vm.ArgmaxKernel(node)


@register_lowering(Alloc)
def lower_alloc(node, ins):
    if node.outputs[0].type.ndim > MAX_NDIM or node.inputs[0].type.ndim != 0:
        return None
    if any(i.type.dtype != "int64" for i in node.inputs[1:]):
        return None
    return _vm.AllocKernel(node)


@register_lowering(Join)
def lower_join(node, ins):
    dtype = node.outputs[0].type.dtype
    if np.dtype(dtype).kind not in "biuf" or any(i.type.dtype != dtype for i in node.inputs):
        return None
    return _vm.JoinKernel(node)


def _index_plan(idx_list):
    """(static index tuple or None, per-entry plan) of a basic idx_list; None if unsupported."""
    plan = []
    dynamic = False
    for e in idx_list:
        if isinstance(e, slice):
            fields = tuple(True if c is st.SYM else c for c in (e.start, e.stop, e.step))
            dynamic = dynamic or any(f is True for f in fields)
            plan.append(("s", fields))
        elif e is st.SYM:
            plan.append(("i", None))
            dynamic = True
        elif e is None or isinstance(e, (int, np.integer)):
            plan.append(("c", e if e is None else int(e)))
        else:
            return None
    static_idx = None
    if not dynamic:
        static_idx = tuple(slice(*v) if k == "s" else v for k, v in plan) + (Ellipsis,)
    return static_idx, plan


@register_lowering(st.Subtensor)
def lower_subtensor(node, ins):
    p = _index_plan(node.op.idx_list)
    return None if p is None else _vm.SubtensorKernel(node, *p)


@register_lowering(st.IncSubtensor)
def lower_inc_subtensor(node, ins):
    x, y = node.inputs[:2]
    if x.type.ndim > MAX_NDIM or y.type.dtype != x.type.dtype or np.dtype(x.type.dtype).kind not in "biuf":
        return None
    p = _index_plan(node.op.idx_list)
    inplace = bool(node.op.inplace) and bool(ins.inplace)
    return None if p is None else _vm.IncSubtensorKernel(node, *p, inplace)
