"""Node rewriters: plain functions that look at one Apply node and propose replacements.

    @node_rewriter([Elemwise])
    def local_exp_log(fgraph, node):
        "exp(log(x)) -> x"
        ...
        return [replacement]        # one per node output, or {old_var: new_var}, or None

A rewriter is looked up by the class of the node's op (and, for Elemwise, by
the class of its scalar op: tracks may name a ScalarOp class such as
`scalar.ops.Exp`), so the drivers only call the rewriters that can apply.
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Variable
from graphcore.scalar.basic import ScalarOp
from graphcore.tensor.elemwise import Elemwise


class NodeRewriter:
    """A rewrite of single nodes: `transform(fgraph, node)` returns replacements or None."""

    def __init__(self, fn, tracks=None, name=None):
        self.fn = fn
        self.tracks = None if tracks is None else tuple(tracks)
        self.name = name or fn.__name__
        self.__doc__ = fn.__doc__
        self.__name__ = self.name

    def transform(self, fgraph, node):
        return self.fn(fgraph, node)

    __call__ = transform

    def keys(self):
        """The lookup keys this rewriter tracks (None: every node)."""
        if self.tracks is None:
            return None
        out = []
        for t in self.tracks:
            if isinstance(t, type) and issubclass(t, ScalarOp):
                out.append(("elemwise", t))
            elif isinstance(t, ScalarOp):
                out.append(("elemwise", type(t)))
            elif isinstance(t, Elemwise):
                out.append(("elemwise", type(t.scalar_op)))
            elif isinstance(t, type):
                out.append(t)
            else:
                out.append(type(t))
        return out

    def __repr__(self):
        return f"<NodeRewriter {self.name}>"


def node_rewriter(tracks=None, name=None):
    """Decorator turning `fn(fgraph, node)` into a NodeRewriter tracking op classes `tracks`."""

    def wrap(fn):
        return NodeRewriter(fn, tracks, name)

    return wrap


def node_keys(node):
    """The lookup keys of a node: its op's class (and MRO), plus its scalar op class for Elemwise."""
    op = node.op
    keys = list(type(op).__mro__[:-1])
    if type(op) is Elemwise:
        keys.append(("elemwise", type(op.scalar_op)))
    return keys


class RewriterIndex:
    """Rewriters by lookup key, cached per (op class, scalar op class)."""

    def __init__(self, rewriters):
        self.rewriters = list(rewriters)
        self.by_key = {}
        self.generic = []
        for r in self.rewriters:
            keys = r.keys()
            if keys is None:
                self.generic.append(r)
            else:
                for k in keys:
                    self.by_key.setdefault(k, []).append(r)
        self._cache = {}

    def lookup(self, node):
        op = node.op
        ck = (type(op), type(op.scalar_op)) if type(op) is Elemwise else type(op)
        found = self._cache.get(ck)
        if found is None:
            seen = []
            for k in node_keys(node):
                for r in self.by_key.get(k, ()):
                    if r not in seen:
                        seen.append(r)
            order = {id(r): i for i, r in enumerate(self.rewriters)}
            seen.sort(key=lambda r: order[id(r)])
            found = tuple(seen) + tuple(self.generic)
            self._cache[ck] = found
        return found


def fit_replacement(old, new):
    """`new` converted to `old`'s type where that is a safe conversion, else None.

    A dtype difference becomes a cast; a broadcast difference (new has fewer
    known dimensions) becomes a SpecifyShape or a fill against `old`'s inputs
    is not attempted: the rewrite is skipped instead.
    """
    from graphcore.tensor.basic import as_tensor_variable, cast

    if not isinstance(new, Variable):
        new = as_tensor_variable(new)
    ot, nt = old.type, new.type
    if ot == nt:
        return new
    if getattr(nt, "ndim", None) != getattr(ot, "ndim", None):
        if getattr(nt, "ndim", 0) < getattr(ot, "ndim", 0) and all(
                ot.broadcastable[: ot.ndim - nt.ndim]):
            new = new.dimshuffle(["x"] * (ot.ndim - nt.ndim) + list(range(nt.ndim)))
            nt = new.type
        else:
            return None
    if nt.dtype != ot.dtype:
        new = cast(new, ot.dtype)
        nt = new.type
    if ot == nt:
        return new
    # static shapes: new may know more (fine) or less (specify_shape) but must not contradict
    for a, b in zip(ot.shape, nt.shape):
        if a is not None and b is not None and a != b:
            return None
        if b == 1 and a != 1:
            return None  # new would broadcast where old has a real length: not the same value
    if ot.is_super(nt):
        return new
    return ot.convert_variable(new)


def scalar_constant(v, only_constants=False):
    """The single value of a constant (or fill/dimshuffle of one) whose elements are all equal, else None."""
    from graphcore.graph.basic import Constant
    from graphcore.tensor.basic import NotScalarConstantError, get_scalar_constant_value

    if isinstance(v, Constant):
        data = np.asarray(v.data)
        if data.size == 0:
            return None
        if data.ndim == 0:
            return data.item()
        flat = data.reshape(-1)
        if data.size <= 4096 and (flat == flat[0]).all():
            return flat[0].item()
        return None
    if only_constants or v.owner is None:
        return None
    try:
        val = get_scalar_constant_value(v)
    except (NotScalarConstantError, TypeError, ValueError):
        return None
    val = np.asarray(val)
    return val.item() if val.ndim == 0 else None
