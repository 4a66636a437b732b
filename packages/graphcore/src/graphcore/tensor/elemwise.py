"""Elemwise (a scalar op mapped over broadcast arrays) and DimShuffle (axis permute/insert/drop)."""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Apply
from graphcore.graph.hooks import tensor_api
from graphcore.graph.null_type import DisconnectedType, disconnected_type
from graphcore.graph.op import Op
from graphcore.scalar.basic import ScalarOp, is_discrete
from graphcore.scalar import ops as sops
from graphcore.scalar.composite import Composite
from graphcore.tensor import basic  # a cycle within the tensor core: used at call time only
from graphcore.tensor.type import TensorType

# scalar ops whose result may be an operand as it is (an Elemwise of one may hand back its input)
_PASS_THROUGH = (sops.Identity, sops.Second, sops.Cast)


class DimShuffle(Op):
    """Reorder dimensions, insert broadcastable ones ('x'), drop broadcastable ones.

    `DimShuffle(input_broadcastable, new_order)`, e.g. new_order (1, 'x', 0)
    turns shape (a, b) into (b, 1, a). Dropped dimensions must be known to
    have length 1. The output is a view of the input.
    """

    __props__ = ("input_broadcastable", "new_order")
    view_map = {0: [0]}

    def __init__(self, input_broadcastable, new_order):
        self.input_broadcastable = tuple(bool(b) for b in input_broadcastable)
        nd = len(self.input_broadcastable)
        order = []
        for o in new_order:
            if o == "x":
                order.append("x")
                continue
            if not isinstance(o, (int, np.integer)):
                raise TypeError(f"DimShuffle: entries of new_order must be ints or 'x', got {o!r}")
            o = int(o)
            if not -nd <= o < nd:
                raise ValueError(f"DimShuffle: axis {o} is out of range for {nd} dimensions")
            order.append(o % nd)
        kept = [o for o in order if o != "x"]
        if len(set(kept)) != len(kept):
            raise ValueError(f"DimShuffle: new_order {tuple(new_order)} repeats an axis")
        for d in range(nd):
            if d not in kept and not self.input_broadcastable[d]:
                raise ValueError(
                    f"DimShuffle: cannot drop dimension {d} of an input with broadcastable "
                    f"pattern {self.input_broadcastable}: it is not known to have length 1")
        self.new_order = tuple(order)
        self.drop = tuple(d for d in range(nd) if d not in kept)
        self.shuffle = tuple(kept)
        self.augment = tuple(i for i, o in enumerate(order) if o == "x")

    @property
    def is_transpose(self):
        return not self.augment and not self.drop and self.shuffle != tuple(range(len(self.shuffle)))

    def __str__(self):
        return f"DimShuffle{{{','.join(str(o) for o in self.new_order)}}}"

    def make_node(self, x):
        x = basic.as_tensor_variable(x)
        if x.type.ndim != len(self.input_broadcastable):
            raise TypeError(f"{self}: expected an input of {len(self.input_broadcastable)} "
                            f"dimensions, got {x.type}")
        for d in self.drop:
            if x.type.shape[d] != 1:
                raise ValueError(f"{self}: dimension {d} of {x} is not known to have length 1")
        shape = tuple(1 if o == "x" else x.type.shape[o] for o in self.new_order)
        return Apply(self, [x], [TensorType(x.type.dtype, shape)()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        res = x.transpose(self.shuffle + self.drop)
        res = res.reshape(tuple(1 if o == "x" else x.shape[o] for o in self.new_order)) \
            if (self.augment or self.drop) else res
        output_storage[0][0] = res

    def infer_shape(self, fgraph, node, input_shapes):
        ish = input_shapes[0]
        return [tuple(1 if o == "x" else ish[o] for o in self.new_order)]

    def grad(self, inputs, gz):
        x, g = inputs[0], gz[0]
        # an inserted axis may carry a broadcast gradient: sum it to length 1 first
        axes = [i for i in self.augment if not g.type.broadcastable[i]]
        if axes:
            g = tensor_api.sum(g, axis=axes, keepdims=True)  # registered by tensor.math
        pattern = ["x" if d in self.drop else self.new_order.index(d)
                   for d in range(len(self.input_broadcastable))]
        gx = DimShuffle(g.type.broadcastable, pattern)(g)
        return [gx if is_discrete(x.type.dtype) else basic.cast(gx, x.type.dtype)]

    def R_op(self, inputs, eval_points):
        return [None if eval_points[0] is None else self(eval_points[0])]


def _static_broadcast(op, types):
    ndim = types[0].ndim
    shape = []
    for d in range(ndim):
        sizes = {t.shape[d] for t in types}
        known = {s for s in sizes if s is not None and s != 1}
        if len(known) > 1:
            raise ValueError(f"{op}: input shapes {[t.shape for t in types]} cannot be broadcast "
                             f"(dimension {d} has lengths {sorted(known)})")
        if known:
            shape.append(known.pop())
        elif sizes == {1}:
            shape.append(1)
        else:
            shape.append(None)
    return tuple(shape)


def _retype_weak(inputs):
    """Give Python-number constants the dtype NumPy 2 would (NEP 50 weak scalars)."""
    strong = [i.type.dtype for i in inputs if not getattr(i, "weak", False)]
    if not strong or len(strong) == len(inputs):
        return inputs
    out = []
    for i in inputs:
        if getattr(i, "weak", False):
            value = i.py_value
            try:
                dtype = np.result_type(*[np.dtype(d) for d in strong], value)
                i = basic.constant(np.asarray(value, dtype=dtype))
            except OverflowError:
                raise OverflowError(
                    f"Python number {value!r} does not fit in dtype "
                    f"{np.result_type(*[np.dtype(d) for d in strong])} of the other operand; "
                    "cast the tensor to a wider dtype first") from None
        out.append(i)
    return out


class Elemwise(Op):
    """Apply `scalar_op` element by element over inputs broadcast against each other.

    A dimension broadcasts only when its type says length 1 (Theano's rule):
    a size-1 value in a dimension of unknown length is an error at run time
    rather than a silent stretch. `inplace_pattern` {out: in} overwrites inputs.
    """

    __props__ = ("scalar_op", "inplace_pattern")
    fresh_outputs = True  # except the aliased_outputs below and inplace_pattern's

    def __init__(self, scalar_op, inplace_pattern=None, name=None):
        if not isinstance(scalar_op, ScalarOp):
            raise TypeError(f"Elemwise needs a ScalarOp, got {scalar_op!r}")
        self.scalar_op = scalar_op
        self.inplace_pattern = tuple(sorted((inplace_pattern or {}).items()))
        self.destroy_map = {o: [i] for o, i in self.inplace_pattern}
        self.name = name
        self.nfunc_spec = None

    def __str__(self):
        if self.inplace_pattern:
            return f"Elemwise{{{self.scalar_op},inplace}}"
        return f"Elemwise{{{self.scalar_op}}}"

    def make_node(self, *inputs):
        inputs = _retype_weak([basic.as_tensor_variable(i) for i in inputs])
        if not inputs:
            raise TypeError(f"{self}: needs at least one input")
        ndim = max(i.type.ndim for i in inputs)
        padded = []
        for i in inputs:
            if i.type.ndim < ndim:
                pattern = ("x",) * (ndim - i.type.ndim) + tuple(range(i.type.ndim))
                i = DimShuffle(i.type.broadcastable, pattern)(i)
            padded.append(i)
        shape = _static_broadcast(self, [i.type for i in padded])
        try:
            dtypes = self.scalar_op.output_dtypes(*[i.type.dtype for i in padded])
        except TypeError as exc:
            raise TypeError(f"{self}: {exc}" if not str(exc).startswith(str(self.scalar_op)) else str(exc)) from None
        for o, i in self.inplace_pattern:
            it = padded[i].type
            if it.dtype != dtypes[o] or it.shape != shape:
                raise TypeError(f"{self}: output {o} cannot overwrite input {i} of type {it}")
        outs = [TensorType(d, shape)() for d in dtypes]
        return Apply(self, padded, outs)

    def aliased_outputs(self, node):
        """Outputs that may be an input itself or a read-only broadcast of one: an identity,
        fill (second) or cast, a one-input add/mul, or a Composite output that is one of
        those of an input."""
        sop = self.scalar_op
        every = list(range(len(node.inputs)))
        if isinstance(sop, _PASS_THROUGH) or (isinstance(sop, (sops.Add, sops.Mul))
                                              and len(node.inputs) == 1):
            return {k: every for k in range(len(node.outputs))}
        if isinstance(sop, Composite):
            return {k: every for k, inner in enumerate(sop.outputs)
                    if inner.owner is None or isinstance(inner.owner.op, _PASS_THROUGH)}
        return {}

    def check_runtime_broadcast(self, node, inputs):
        """Raise a ValueError naming the dimension when `inputs` (values for `node`) do not
        broadcast by the node's types: only dimensions whose type says length 1 broadcast.
        Runtimes call it to report a shape mismatch with the reference's message."""
        shapes = [x.shape for x in inputs]
        ndim = len(shapes[0]) if shapes else 0
        for d in range(ndim):
            size = None
            for x, s in zip(node.inputs, shapes):
                if x.type.shape[d] == 1:
                    continue
                if size is None:
                    size = s[d]
                elif s[d] != size:
                    raise ValueError(
                        f"{self}: input shapes {[tuple(s) for s in shapes]} do not match in "
                        f"dimension {d} ({size} vs {s[d]}). Only dimensions whose type says "
                        f"length 1 broadcast; the input types are "
                        f"{[str(i.type) for i in node.inputs]}")
        return

    def perform(self, node, inputs, output_storage):
        self.check_runtime_broadcast(node, inputs)
        res = self.scalar_op.compute(inputs, [o.type.dtype for o in node.outputs])
        out_shape = np.broadcast_shapes(*[x.shape for x in inputs])
        destroy = self.destroy_map
        for k, (storage, r) in enumerate(zip(output_storage, res)):
            if k in destroy:
                target = inputs[destroy[k][0]]
                target[...] = r
                storage[0] = target
            elif r.shape != out_shape:  # scalar ops that ignore an input (second)
                storage[0] = np.array(np.broadcast_to(r, out_shape))
            else:
                storage[0] = r

    def infer_shape(self, fgraph, node, input_shapes):
        out = []
        for d in range(node.outputs[0].type.ndim):
            cands = [s[d] for x, s in zip(node.inputs, input_shapes) if x.type.shape[d] != 1]
            if not cands:
                out.append(1)
            else:
                static = node.outputs[0].type.shape[d]
                out.append(static if static is not None else cands[0])
        return [tuple(out)] * len(node.outputs)

    def L_op(self, inputs, outputs, output_grads):
        grads = self.scalar_op.L_op(inputs, outputs, output_grads)
        result = []
        for x, g in zip(inputs, grads):
            if isinstance(g.type, DisconnectedType) or not isinstance(g.type, TensorType):
                result.append(g)  # disconnected or undefined: passed on as is
                continue
            if is_discrete(x.type.dtype):
                result.append(disconnected_type())
                continue
            if g.type.ndim < x.type.ndim:
                g = DimShuffle(g.type.broadcastable,
                               ("x",) * (x.type.ndim - g.type.ndim) + tuple(range(g.type.ndim)))(g)
            # where x was broadcast, its gradient is the sum over the broadcast dimension
            axes = [d for d in range(x.type.ndim)
                    if x.type.broadcastable[d] and not g.type.broadcastable[d]]
            if axes:
                g = tensor_api.sum(g, axis=axes, keepdims=True)
            if np.dtype(g.type.dtype).kind == "c" and np.dtype(x.type.dtype).kind != "c":
                g = tensor_api.real(g)  # a real input of a complex graph: dC/dx = Re(dC/dz conj(dz/dx))
            result.append(basic.cast(g, x.type.dtype))
        return result


tensor_api.register(DimShuffle=DimShuffle)  # TensorVariable.dimshuffle
