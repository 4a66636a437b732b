"""Which ops the cuda backend runs, and how: the table op class -> lowering, filled here.

A lowering is `factory(node, instruction, cache) -> kernel | None`; a kernel
is a callable `kernel(input values) -> output values` (CuPy arrays). A
factory returns None (or raises codegen's `Unsupported`) to decline; the
node is then an error naming the op, or runs on the host when
`config.fallback_device` is set (see backend.py). Third-party op packages
add entries with `register_lowering`.
"""

from __future__ import annotations

from graphcore.tensor.dot import Dot
from graphcore.tensor.elemwise import DimShuffle, Elemwise
from graphcore.tensor.reduction import Reduce
from graphcore.tensor.shape import Reshape, Shape, Shape_i, SpecifyShape, Unbroadcast
from graphcore.tensor.subtensor import Subtensor
from graphcore.tensor import blas
from graphcore.tensor.fused_reduce import FusedReduce
from graphcore.tensor.nnet.crossentropy import (CrossentropySoftmax1HotWithBiasDx,
                                                CrossentropySoftmaxArgmax1HotWithBias)
from graphcore.tensor.nnet.softmax import LogSoftmax, LogSoftmaxGrad, Softmax, SoftmaxGrad

from graphrt_cuda._cupy import cupy
from graphrt_cuda.launch import ElemwiseLauncher, ReduceLauncher, RowLauncher, _device
from graphrt_cuda.transfer import GpuFromHost, HostFromGpu, to_device, to_host

LOWERINGS: dict[type, object] = {}


def register_lowering(op_class, factory=None):
    """Register `factory(node, instruction, cache) -> kernel | None` for `op_class` (a decorator too)."""
    def deco(f):
        LOWERINGS[op_class] = f
        return f

    return deco if factory is None else deco(factory)


def find_lowering(op):
    for cls in type(op).__mro__:
        f = LOWERINGS.get(cls)
        if f is not None:
            return f
    return None


class _Fn:
    """A kernel from a plain function (with the flags the executable reads)."""

    def __init__(self, fn, capturable=True, edge=False):
        self.fn = fn
        self.capturable = capturable
        self.edge = edge

    def __call__(self, args):
        return self.fn(args)


# ---- transfers -------------------------------------------------------------------
@register_lowering(GpuFromHost)
def lower_gpu_from_host(node, ins, cache):
    return _Fn(lambda a: [to_device(a[0])], edge="in")


@register_lowering(HostFromGpu)
def lower_host_from_gpu(node, ins, cache):
    return _Fn(lambda a: [to_host(a[0])], capturable=False, edge="out")


# ---- generated kernels -------------------------------------------------------------
@register_lowering(Elemwise)
def lower_elemwise(node, ins, cache):
    return ElemwiseLauncher(node, cache)


@register_lowering(Reduce)
def lower_reduce(node, ins, cache):
    op = node.op
    return ReduceLauncher(node, cache, op.scalar_op.name, op.axis, None, node.inputs[0].type.dtype,
                          op.acc_dtype)


@register_lowering(FusedReduce)
def lower_fused_reduce(node, ins, cache):
    op = node.op
    ew_node = op.elemwise.make_node(*node.inputs)
    return ReduceLauncher(node, cache, op.reduction.scalar_op.name, op.axis, op.scalar_op,
                          ew_node.outputs[0].type.dtype, op.acc_dtype)


for _cls, _mode in ((Softmax, "softmax"), (LogSoftmax, "log_softmax"),
                    (SoftmaxGrad, "softmax_grad"), (LogSoftmaxGrad, "log_softmax_grad")):
    register_lowering(_cls, lambda node, ins, cache, mode=_mode: RowLauncher(node, cache, mode,
                                                                             node.op.axis))
register_lowering(CrossentropySoftmaxArgmax1HotWithBias,
                  lambda node, ins, cache: RowLauncher(node, cache, "xent"))
register_lowering(CrossentropySoftmax1HotWithBiasDx,
                  lambda node, ins, cache: RowLauncher(node, cache, "xent_dx"))


# ---- cuBLAS through CuPy ---------------------------------------------------------------
def _host_scalar(node, k, value):
    """A BLAS scalar argument: a constant's value (no sync), else read from the device."""
    var = node.inputs[k]
    data = getattr(var, "data", None)
    return float(data) if data is not None else float(value)


@register_lowering(Dot)
def lower_dot(node, ins, cache):
    def run(a):
        return [cupy().dot(_device(a[0]), _device(a[1]))]

    return _Fn(run)


def _blas_target(node, ins, value):
    """The array a BLAS op accumulates into: the input itself when the op may overwrite it."""
    if ins.inplace and getattr(node.op, "inplace", False):
        return value
    return value.copy(order="C")


@register_lowering(blas.Gemm)
def lower_gemm(node, ins, cache):
    const = all(getattr(node.inputs[k], "data", None) is not None for k in (1, 4))

    def run(a):
        cp = cupy()
        z = _blas_target(node, ins, _device(a[0]))
        alpha, beta = _host_scalar(node, 1, a[1]), _host_scalar(node, 4, a[4])
        cp.cublas.gemm("N", "N", _device(a[2]), _device(a[3]), out=z, alpha=alpha, beta=beta)
        return [z]

    return _Fn(run, capturable=const)


@register_lowering(blas.Gemv)
def lower_gemv(node, ins, cache):
    const = all(getattr(node.inputs[k], "data", None) is not None for k in (1, 4))

    def run(a):
        cp = cupy()
        z = _blas_target(node, ins, _device(a[0]))
        cp.cublas.gemv("N", _host_scalar(node, 1, a[1]), _device(a[2]), _device(a[3]),
                       _host_scalar(node, 4, a[4]), z)
        return [z]

    return _Fn(run, capturable=const)


@register_lowering(blas.Ger)
def lower_ger(node, ins, cache):
    const = getattr(node.inputs[1], "data", None) is not None

    def run(a):
        cp = cupy()
        A = _blas_target(node, ins, _device(a[0]))
        cp.cublas.ger(_host_scalar(node, 1, a[1]), _device(a[2]), _device(a[3]), A)
        return [A]

    return _Fn(run, capturable=const)


# ---- views and shapes: the op's own perform on CuPy arrays (array methods, no copy) ---------
def _perform_on_device(node, ins, cache):
    op = node.op

    def run(a):
        cells = [[None] for _ in node.outputs]
        op.perform(node, a, cells)
        return [c[0] for c in cells]

    # Shape/Shape_i return host integers (read from the array's metadata, no sync)
    return _Fn(run)


for _cls in (DimShuffle, Reshape, Subtensor, Shape, Shape_i, SpecifyShape, Unbroadcast):
    register_lowering(_cls, _perform_on_device)
