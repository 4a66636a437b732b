"""Which axes of a compiled function's outputs follow which axes of its inputs, block by block.

`axis_map(f)` walks the function's graph (as the user wrote it, before rewrites) and gives
every input axis a label. Labels flow to the outputs through the ops whose effect on axes is
known: elementwise ops align the axes they combine (a broadcast axis aligns nothing),
DimShuffle moves labels, a reduction, a matrix product or a softmax "mixes" the labels of the
axes it combines values across. Any other op mixes every label of its inputs and gives its
outputs unlabelled axes (the safe answer: its block results are right only when the input is
whole along those axes). An output maps chunk to chunk along a labelled input axis that is
split into several chunks exactly when that label is not mixed in it; dask's blockwise then
lines up the chunks of all axes carrying one label.

`shape_function(f)` compiles the functions' shape inference (each op's `infer_shape`) into a
small function from input shapes to output shapes: output chunk shapes without running `f`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphcore.compile.function import function
from graphcore.compile.function_module import Function
from graphcore.graph.basic import Constant, Variable
from graphcore.graph.op import ShapeInferenceNotImplemented
from graphcore.graph.shared import SharedVariable
from graphcore.graph.traversal import io_toposort
from graphcore.tensor.basic import as_tensor_variable, cast
from graphcore.tensor.dot import Dot
from graphcore.tensor.elemwise import DimShuffle, Elemwise
from graphcore.tensor.nnet.softmax import LogSoftmax, Softmax
from graphcore.tensor.reduction import Reduce
from graphcore.tensor.type import TensorType, tensor


class ShapeInferenceError(ValueError):
    """The output shapes of a function cannot be known from its input shapes alone."""


@dataclass
class _Axes:
    dims: list[int | None]  # a label per axis, None: not aligned with any input axis
    mixed: set[int] = field(default_factory=set)  # labels whose values this variable combines


class _Labels:
    """Union-find over axis labels (two labels that meet in an elementwise op are one)."""

    def __init__(self) -> None:
        self.parent: list[int] = []

    def new(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, labels: list[int]) -> int:
        root = self.find(labels[0])
        for b in labels[1:]:
            self.parent[self.find(b)] = root
        return root


@dataclass
class AxisMap:
    """The labels of a function's inputs' and outputs' axes (see the module docstring)."""

    inputs: list[tuple[int, ...]]  # per explicit input, a label per axis
    outputs: list[tuple[int | None, ...]]  # per output, a label (or None) per axis
    mixed: list[frozenset[int]]  # per output, the labels it mixes
    variables: dict[Variable, _Axes]  # every variable of the graph (labels not yet resolved)
    labels: _Labels

    def resolve(self, axes: _Axes) -> tuple[tuple[int | None, ...], frozenset[int]]:
        find = self.labels.find
        return (tuple(None if d is None else find(d) for d in axes.dims),
                frozenset(find(m) for m in axes.mixed))


def _tensor_ndim(v: Variable) -> int:
    return v.type.ndim if isinstance(v.type, TensorType) else 0


def _static_shape(v: Variable) -> tuple[int | None, ...]:
    return tuple(v.type.shape) if isinstance(v.type, TensorType) else ()


def axis_map(f: Function) -> AxisMap:
    """Label every axis of `f`'s inputs and follow the labels to its outputs."""
    spec = f.maker.spec
    inputs = [i.variable for i in spec["inputs"]]
    outputs = [o.variable for o in spec["outputs"]]
    labels = _Labels()
    axes: dict[Variable, _Axes] = {}
    for v in inputs:
        axes[v] = _Axes([labels.new() for _ in range(_tensor_ndim(v))])

    def of(v: Variable) -> _Axes:
        if v not in axes:  # a constant or shared variable: whole in every block
            axes[v] = _Axes([None] * _tensor_ndim(v))
        return axes[v]

    for node in io_toposort(inputs, outputs):
        ins = [of(i) for i in node.inputs]
        mixed: set[int] = set().union(*(a.mixed for a in ins)) if ins else set()
        op = node.op
        if isinstance(op, Elemwise):
            ndim = _tensor_ndim(node.outputs[0])
            dims: list[int | None] = []
            for d in range(ndim):
                found: list[int] = []
                whole = False
                for var, a in zip(node.inputs, ins):
                    label = a.dims[d]
                    if _static_shape(var)[d] == 1:
                        continue  # broadcast along d: one value for every block
                    if label is None:
                        whole = True  # a full-length operand meets every block
                    else:
                        found.append(label)
                if found and whole:
                    mixed.update(found)  # right only when the labelled axis is one chunk
                dims.append(labels.union(found) if found else None)
            out = [_Axes(list(dims), set(mixed)) for _ in node.outputs]
        elif isinstance(op, DimShuffle):
            a = ins[0]
            out = [_Axes([None if o == "x" else a.dims[o] for o in op.new_order], mixed)]
        elif isinstance(op, Reduce):
            a = ins[0]
            mixed.update(a.dims[d] for d in op.axis if a.dims[d] is not None)
            out = [_Axes([x for d, x in enumerate(a.dims) if d not in op.axis], mixed)]
        elif isinstance(op, Dot):
            a, b = ins
            ka, kb = a.dims[-1], b.dims[0]
            if ka is not None and kb is not None:
                mixed.add(labels.union([ka, kb]))
            else:
                mixed.update(k for k in (ka, kb) if k is not None)
            out = [_Axes(a.dims[:-1] + b.dims[1:], mixed)]
        elif isinstance(op, (Softmax, LogSoftmax)) and op.axis is not None:
            a = ins[0]
            along = a.dims[op.axis]
            if along is not None:
                mixed.add(along)
            out = [_Axes(list(a.dims), mixed)]
        else:  # unknown effect on axes: every input label is mixed, output axes unlabelled
            for a in ins:
                mixed.update(d for d in a.dims if d is not None)
            out = [_Axes([None] * _tensor_ndim(o), set(mixed)) for o in node.outputs]
        for v, a in zip(node.outputs, out):
            axes[v] = a
    result = AxisMap([], [], [], axes, labels)
    result.inputs = [tuple(labels.find(d) for d in axes[v].dims if d is not None) for v in inputs]
    for v in outputs:
        out_dims, mixed_labels = result.resolve(of(v))
        result.outputs.append(out_dims)
        result.mixed.append(mixed_labels)
    return result


ShapeFunction = Callable[[list[tuple[int, ...]]], list[tuple[int, ...]]]


def shape_function(f: Function) -> ShapeFunction:
    """A callable: the input shapes (a tuple per explicit input) -> the output shapes, computed
    by the ops' `infer_shape` alone (compiled once; no data of `f` is touched)."""
    spec = f.maker.spec
    inputs = [i.variable for i in spec["inputs"]]
    outputs = [o.variable for o in spec["outputs"]]
    stand_ins = [[tensor("int64", shape=(), name=f"{v.name or f'input{k}'}_shape{d}")
                  for d in range(_tensor_ndim(v))]
                 for k, v in enumerate(inputs)]
    shapes: dict[Variable, tuple[Any, ...]] = dict(zip(inputs, map(tuple, stand_ins)))

    def shape_of(v: Variable) -> tuple[Any, ...]:
        if v not in shapes:
            if isinstance(v, Constant):
                shapes[v] = tuple(np.shape(v.data))
            elif isinstance(v, SharedVariable):
                shapes[v] = tuple(np.shape(v.get_value(borrow=True)))
            else:
                raise ShapeInferenceError(f"no shape for {v}")
        return shapes[v]

    for node in io_toposort(inputs, outputs):
        in_shapes = [shape_of(i) if isinstance(i.type, TensorType) else None for i in node.inputs]
        try:
            outs = node.op.infer_shape(None, node, in_shapes)
        except ShapeInferenceNotImplemented:
            raise ShapeInferenceError(
                f"graphcore.dask: op {node.op} has no shape inference (infer_shape), so the "
                "output chunk shapes cannot be known without running the function") from None
        for o, s in zip(node.outputs, outs):
            if s is not None:
                shapes[o] = tuple(s)
    flat = [cast(as_tensor_variable(d), "int64") for v in outputs for d in shape_of(v)]
    ndims = [_tensor_ndim(v) for v in outputs]
    if not flat:
        return lambda in_shapes: [()] * len(outputs)
    try:
        fn = function([s for group in stand_ins for s in group], flat, on_unused_input="ignore")
    except Exception as exc:  # e.g. a shape that depends on data values (MissingInputError)
        raise ShapeInferenceError(
            f"graphcore.dask: the output shapes of {f} depend on more than the input shapes "
            f"({exc}); its output chunk shapes cannot be known without running it") from exc

    def shapes_for(in_shapes: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
        values = [int(n) for shape in in_shapes for n in shape]
        flat_out = [int(x) for x in fn(*values)]
        result, pos = [], 0
        for n in ndims:
            result.append(tuple(flat_out[pos:pos + n]))
            pos += n
        return result

    return shapes_for
