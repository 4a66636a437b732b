"""as_op: turn a NumPy function into an Op (Theano's theano.compile.ops.as_op).

    @as_op(itypes=[T.dmatrix], otypes=[T.dvector])
    def row_norms(m):
        return np.sqrt((m ** 2).sum(axis=1))

The op runs the function in `perform` (every backend runs it through its
Python fallback); it has no gradient unless one is given with `grad=`.
"""

from __future__ import annotations

import sys

import numpy as np

from graphcore.graph.basic import Apply, Variable
from graphcore.graph.op import Op
from graphcore.graph.type import Type
from graphcore.tensor.basic import as_tensor_variable


class FromFunctionOp(Op):
    """An op whose perform calls a Python function of NumPy arrays."""

    __props__ = ("fn", "itypes", "otypes")

    def __init__(self, fn, itypes, otypes, infer_shape=None, grad=None):
        self.fn = fn
        self.itypes = tuple(itypes)
        self.otypes = tuple(otypes)
        self._infer_shape = infer_shape
        self._grad = grad
        self.__name__ = getattr(fn, "__name__", "as_op")

    def __str__(self):
        return f"FromFunctionOp{{{self.__name__}}}"

    def make_node(self, *inputs):
        if len(inputs) != len(self.itypes):
            raise TypeError(f"{self}: expected {len(self.itypes)} inputs, got {len(inputs)}")
        checked = []
        for k, (x, t) in enumerate(zip(inputs, self.itypes)):
            x = as_tensor_variable(x)
            if not t.is_super(x.type):
                converted = t.convert_variable(x)
                if converted is None:
                    raise TypeError(f"{self}: input {k} must be of type {t}, got {x.type}")
                x = converted
            checked.append(x)
        return Apply(self, checked, [t() for t in self.otypes])

    def perform(self, node, inputs, output_storage):
        results = self.fn(*inputs)
        if len(self.otypes) == 1:
            results = [results]
        if len(results) != len(self.otypes):
            raise ValueError(f"{self}: the function returned {len(results)} values, expected "
                             f"{len(self.otypes)}")
        for cell, value, t in zip(output_storage, results, self.otypes):
            cell[0] = np.asarray(value, dtype=getattr(t, "numpy_dtype", None))

    def infer_shape(self, fgraph, node, input_shapes):
        if self._infer_shape is None:
            return super().infer_shape(fgraph, node, input_shapes)
        return self._infer_shape(fgraph, node, input_shapes)

    def grad(self, inputs, output_grads):
        if self._grad is None:
            return super().grad(inputs, output_grads)
        return self._grad(inputs, output_grads)

    def __reduce__(self):
        # a decorated function's module name now holds this op: pickle the op by that name
        module = sys.modules.get(getattr(self.fn, "__module__", None) or "")
        qualname = getattr(self.fn, "__qualname__", "")
        target = module
        for part in qualname.split("."):
            target = getattr(target, part, None)
        if target is self:
            self.__module__ = self.fn.__module__
            return qualname
        return (FromFunctionOp, (self.fn, self.itypes, self.otypes, self._infer_shape, self._grad))


def as_op(itypes, otypes, infer_shape=None, grad=None):
    """Decorator: a NumPy function of `itypes` values returning `otypes` values becomes an Op."""
    itypes = list(itypes) if isinstance(itypes, (list, tuple)) else [itypes]
    otypes = list(otypes) if isinstance(otypes, (list, tuple)) else [otypes]
    itypes = [_as_type(t) for t in itypes]
    otypes = [_as_type(t) for t in otypes]

    def decorator(fn):
        return FromFunctionOp(fn, itypes, otypes, infer_shape, grad)

    return decorator


def _as_type(t):
    """A Type from a Type, a variable, or a constructor such as T.dmatrix (Theano's types are
    callables making variables; here T.dmatrix is that constructor)."""
    if isinstance(t, Type):
        return t
    if isinstance(t, Variable):
        return t.type
    if callable(t):
        made = t()
        if isinstance(made, Variable):
            return made.type
    raise TypeError(f"as_op: itypes and otypes must be types such as T.dmatrix or "
                    f"T.TensorType('float64', (None, None)), got {t!r}")
