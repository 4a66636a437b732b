"""FusedReduce: a reduction of an elementwise computation, done in one loop.

`FusedReduce(reduce_op, axis, scalar_op, dtype, acc_dtype)(*inputs)` equals
`Reduce(reduce_op, axis, dtype, acc_dtype)(Elemwise(scalar_op)(*inputs))`
without materialising the elementwise result: a runtime evaluates
`scalar_op` (usually a Composite) per element of the broadcast inputs and
accumulates into the output. graphopt's reduce fusion builds it from a
Reduce whose input is an Elemwise used by nothing else; the reference
`perform` below is exactly that composition, computed with NumPy.
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Apply
from graphcore.graph.op import Op
from graphcore.tensor.elemwise import Elemwise
from graphcore.tensor.reduction import Reduce
from graphcore.tensor.type import TensorType


class FusedReduce(Op):
    """reduce_op over `axis` of scalar_op(*inputs): Reduce(Elemwise(scalar_op)) in one loop."""

    fresh_outputs = True  # perform allocates its outputs (graphopt may overwrite them)

    __props__ = ("reduce_op", "axis", "scalar_op", "dtype", "acc_dtype")

    def __init__(self, reduce_op, axis, scalar_op, dtype=None, acc_dtype=None):
        if scalar_op.nout != 1:
            raise ValueError(f"FusedReduce: {scalar_op} must have one output")
        self.reduce_op = reduce_op
        self.axis = tuple(axis)
        self.scalar_op = scalar_op
        self.dtype = dtype
        self.acc_dtype = acc_dtype
        # the two ops this one fuses (public: a runtime may run them as two kernels)
        self.elemwise = Elemwise(scalar_op)
        self.reduction = Reduce(reduce_op, self.axis, dtype, acc_dtype)

    def __str__(self):
        return f"FusedReduce{{{self.reduction}, {self.scalar_op}}}"

    def make_node(self, *inputs):
        inner = self.elemwise.make_node(*inputs)
        red = self.reduction.make_node(inner.outputs[0])
        out_type = red.outputs[0].type
        return Apply(self, inner.inputs, [TensorType(out_type.dtype, out_type.shape)()])

    def _inner_nodes(self, node):
        """The (Elemwise, Reduce) nodes this node stands for, built once per node."""
        cached = getattr(node.tag, "fused_reduce_nodes", None)
        if cached is None:
            ew_node = self.elemwise.make_node(*node.inputs)
            cached = (ew_node, self.reduction.make_node(ew_node.outputs[0]))
            node.tag.fused_reduce_nodes = cached
        return cached

    def perform(self, node, inputs, output_storage):
        ew_node, red_node = self._inner_nodes(node)
        cell = [None]
        self.elemwise.perform(ew_node, inputs, [cell])
        self.reduction.perform(red_node, [cell[0]], output_storage)
        output_storage[0][0] = np.asarray(output_storage[0][0], dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        ew_node = self.elemwise.make_node(*node.inputs)
        (shape,) = self.elemwise.infer_shape(fgraph, ew_node, input_shapes)
        return [tuple(s for d, s in enumerate(shape) if d not in self.axis)]
