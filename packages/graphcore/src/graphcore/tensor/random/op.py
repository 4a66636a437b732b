"""Random ops: each takes (rng, size, *params) and returns (new rng, draws).

`perform` draws from a copy of the input generator and returns the advanced
copy as its first output, so the input is never mutated (functional
semantics: the same graph inputs give the same outputs). A stream makes the
new generator the `default_update` of its shared generator, so each call of a
compiled function draws new numbers.

`size` is an int64 vector; `has_size=False` means "no size given": the draws
then have the broadcast shape of the parameters, as in NumPy.
"""

from __future__ import annotations

import copy

import numpy as np

from graphcore.config import config
from graphcore.graph.basic import Apply, Constant, Variable
from graphcore.graph.null_type import disconnected_type, grad_undefined
from graphcore.graph.op import Op
from graphcore.tensor import math
from graphcore.tensor.basic import (NotScalarConstantError, as_tensor_variable, cast, constant,
                                    get_scalar_constant_value)
from graphcore.tensor.random.type import RandomGeneratorType
from graphcore.tensor.shape import Shape, shape_i, specify_shape
from graphcore.tensor.type import TensorType


# ------------------------------------------------------------- size vectors
class SizeVector(Op):
    """An int64 vector made of int64 scalars (a `size` with symbolic entries)."""

    def make_node(self, *entries):
        entries = [as_tensor_variable(e) for e in entries]
        for k, e in enumerate(entries):
            if e.type.ndim != 0 or np.dtype(e.type.dtype).kind not in "iu":
                raise TypeError(f"size: entry {k} must be an integer scalar, got {e.type}")
        entries = [cast(e, "int64") for e in entries]
        return Apply(self, entries, [TensorType("int64", (len(entries),))()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.array([int(e) for e in inputs], dtype="int64")

    def infer_shape(self, fgraph, node, input_shapes):
        return [(len(node.inputs),)]

    def grad(self, inputs, gz):
        return [disconnected_type() for _ in inputs]


class VectorEntry(Op):
    """Entry `i` of a vector, as a scalar (used to express inferred shapes)."""

    __props__ = ("i",)

    def __init__(self, i):
        self.i = int(i)

    def make_node(self, v):
        v = as_tensor_variable(v)
        return Apply(self, [v], [TensorType(v.type.dtype, ())()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.asarray(inputs[0][self.i])

    def infer_shape(self, fgraph, node, input_shapes):
        return [()]


def size_entries(size):
    """The entries of a size vector as scalars or ints (static where known)."""
    n = size.type.shape[0]
    if isinstance(size, Constant):
        return [int(s) for s in np.asarray(size.data)]
    if size.owner is not None and isinstance(size.owner.op, SizeVector):
        out = []
        for e in size.owner.inputs:
            try:
                out.append(int(get_scalar_constant_value(e)))
            except NotScalarConstantError:
                out.append(e)
        return out
    if size.owner is not None and isinstance(size.owner.op, Shape):
        x = size.owner.inputs[0]
        return [s if s is not None else shape_i(x, d) for d, s in enumerate(x.type.shape)]
    return [VectorEntry(i)(size) for i in range(n)]


def as_size(size, ndim=None, what="random"):
    """(size vector, has_size) from None, an int, a list of ints/scalars, or an int vector."""
    if size is None:
        return constant(np.zeros(0, dtype="int64")), False
    if isinstance(size, (int, np.integer)):
        size = (int(size),)
    if isinstance(size, Variable):
        size = as_tensor_variable(size)
        if size.type.ndim == 0:
            return SizeVector()(size), True
        if size.type.ndim != 1 or size.type.dtype[:3] not in ("int", "uin"):
            raise TypeError(f"{what}: size must be an integer vector, got {size.type}")
        if size.type.shape[0] is None:
            if ndim is None:
                raise ValueError(f"{what}: the length of the symbolic size {size} is not known; "
                                 "pass ndim= (the number of dimensions of the draws)")

            size = specify_shape(size, (int(ndim),))
        return cast(size, "int64"), True
    try:
        entries = list(size)
    except TypeError:
        raise TypeError(f"{what}: size must be None, an int, a tuple of ints/scalars or an integer "
                        f"vector, got {size!r}") from None
    if all(isinstance(e, (int, np.integer)) for e in entries):
        if any(e < 0 for e in entries):
            raise ValueError(f"{what}: size entries must be >= 0, got {tuple(entries)}")
        return constant(np.array(entries, dtype="int64").reshape(len(entries))), True
    return SizeVector()(*entries), True


def _batch_static_shape(types_and_core):
    """NumPy broadcasting of the static batch shapes of the parameters."""
    shapes = [t.shape[: t.ndim - core] for t, core in types_and_core]
    nd = max((len(s) for s in shapes), default=0)
    out = []
    for d in range(nd):
        sizes = [s[len(s) - nd + d] for s in shapes if len(s) - nd + d >= 0]
        known = {s for s in sizes if s is not None and s != 1}
        if len(known) > 1:
            raise ValueError(f"parameter shapes {shapes} cannot be broadcast together")
        if known:
            out.append(known.pop())
        elif sizes and all(s == 1 for s in sizes):
            out.append(1)
        else:
            out.append(None)
    return tuple(out)


# ---------------------------------------------------------------- the ops
class RandomVariable(Op):
    """Draws from a distribution; subclasses name their parameters and NumPy's sampler."""

    __props__ = ("dtype", "has_size")
    dist = "random"  # NumPy Generator method
    params = ()  # (name, kind, core ndim): kind "float", "int" or "any"
    checks = ()  # (parameter index, predicate on the value, what must hold)
    ndim_supp = 0
    default_dtype = "floatX"

    def __init__(self, dtype=None, has_size=False):
        dtype = self.default_dtype if dtype is None else dtype
        self.dtype = np.dtype(config.floatX if dtype == "floatX" else dtype).name
        self.has_size = bool(has_size)

    def __str__(self):
        return f"{type(self).__name__}{{{self.dtype}}}"

    # -- building ---------------------------------------------------------
    def _check_rng(self, rng):
        if not isinstance(rng, Variable) or not isinstance(rng.type, RandomGeneratorType):
            raise TypeError(f"{self}: the first input must be a random generator variable "
                            f"(e.g. graphcore.shared(np.random.default_rng(seed))), got {rng!r}")

    def _prepare_params(self, params):
        if len(params) != len(self.params):
            raise TypeError(f"{self}: expected {len(self.params)} parameters "
                            f"({', '.join(p[0] for p in self.params)}), got {len(params)}")
        out = []
        for p, (name, kind, core) in zip(params, self.params):
            p = as_tensor_variable(p)
            k = np.dtype(p.type.dtype).kind
            if k == "c" or (kind == "int" and k not in "biu"):
                raise TypeError(f"{self}: parameter {name} must be "
                                f"{'an integer' if kind == 'int' else 'a real'} tensor, got {p.type}")
            if p.type.ndim < core:
                raise TypeError(f"{self}: parameter {name} needs at least {core} dimension(s), "
                                f"got {p.type}")
            if kind == "float" and k != "f":
                p = cast(p, "float64")
            out.append(p)
        for i, pred, what in self.checks:
            if isinstance(out[i], Constant):
                self._check(i, pred, what, out[i].data)
        return out

    def _check(self, i, pred, what, value):
        with np.errstate(invalid="ignore"):
            ok = bool(np.all(pred(np.asarray(value))))
        if not ok:
            raise ValueError(f"{self}: parameter {self.params[i][0]} must satisfy {what}, got "
                             f"{np.asarray(value)!r}")

    def output_shape(self, size, has_size, params):
        supp = self.support_static_shape(params)
        if has_size:
            batch = tuple(s if isinstance(s, int) else None for s in size_entries(size))
        else:
            batch = _batch_static_shape([(p.type, core) for p, (_, _, core) in
                                         zip(params, self.params)])
        return batch + supp

    def support_static_shape(self, params):
        return ()

    def make_node(self, rng, size, *params):
        self._check_rng(rng)
        size = as_tensor_variable(size)
        if size.type.ndim != 1 or size.type.dtype != "int64" or size.type.shape[0] is None:
            raise TypeError(f"{self}: size must be an int64 vector of known length, got {size.type}")
        params = self._prepare_params(params)
        try:
            shape = self.output_shape(size, self.has_size, params)
        except ValueError as exc:
            raise ValueError(f"{self}: {exc}") from None
        draws = TensorType(self.dtype, shape)()
        return Apply(self, [rng, size, *params], [rng.type(), draws])

    # -- running ----------------------------------------------------------
    def rng_fn(self, rng, *args):
        *params, size = args
        return getattr(rng, self.dist)(*params, size=size)

    def perform(self, node, inputs, output_storage):
        rng = copy.deepcopy(inputs[0])
        size = tuple(int(s) for s in inputs[1]) if self.has_size else None
        params = inputs[2:]
        for i, pred, what in self.checks:
            self._check(i, pred, what, params[i])
        try:
            value = self.rng_fn(rng, *params, size)
        except ValueError as exc:
            raise ValueError(f"{self}: {exc} (size {size}, parameter shapes "
                             f"{[np.shape(p) for p in params]})") from None
        output_storage[0][0] = rng
        output_storage[1][0] = np.asarray(value, dtype=self.dtype)

    def do_constant_folding(self, fgraph, node):
        return False

    # -- shapes and gradients ---------------------------------------------
    def support_shape(self, node, input_shapes):
        return ()

    def infer_shape(self, fgraph, node, input_shapes):
        params = node.inputs[2:]
        if self.has_size:
            batch = tuple(size_entries(node.inputs[1]))
        else:
            static = node.outputs[1].type.shape
            cores = [core for _, _, core in self.params]
            pshapes = [tuple(sh[: len(sh) - core]) for sh, core in zip(input_shapes[2:], cores)]
            ptypes = [p.type.shape[: p.type.ndim - core] for p, core in zip(params, cores)]
            nd = len(static) - self.ndim_supp
            batch = []
            for d in range(nd):
                if static[d] is not None:
                    batch.append(static[d])
                    continue
                cands = [sh[len(sh) - nd + d] for sh, st in zip(pshapes, ptypes)
                         if len(sh) - nd + d >= 0 and st[len(st) - nd + d] != 1]
                out = cands[0]
                for c in cands[1:]:  # broadcast: a length-1 value takes the other's length
                    out = math.switch(math.eq(out, 1), c, out)
                batch.append(out)
            batch = tuple(batch)
        return [None, batch + tuple(self.support_shape(node, input_shapes))]

    def L_op(self, inputs, outputs, output_grads):
        return [disconnected_type(), disconnected_type()] + [
            grad_undefined(self, k + 2, p, "Draws are not differentiable with respect to the "
                           "distribution's parameters; reparameterize (e.g. loc + scale * "
                           "normal(0, 1)) to differentiate through them")
            for k, p in enumerate(inputs[2:])]

    def connection_pattern(self, node):
        return [[False, False], [False, False]] + [[False, True] for _ in node.inputs[2:]]


def _nonneg(v):
    return v >= 0


def _positive(v):
    return v > 0


class UniformRV(RandomVariable):
    """Uniform on [low, high)."""

    dist = "uniform"
    params = (("low", "float", 0), ("high", "float", 0))


class NormalRV(RandomVariable):
    """Normal with mean loc and standard deviation scale."""

    dist = "normal"
    params = (("loc", "float", 0), ("scale", "float", 0))
    checks = ((1, _nonneg, "scale >= 0"),)


class TruncatedNormalRV(RandomVariable):
    """Normal(loc, scale) restricted to within 2 standard deviations of loc (redrawn outside)."""

    params = (("loc", "float", 0), ("scale", "float", 0))
    checks = ((1, _nonneg, "scale >= 0"),)

    def rng_fn(self, rng, loc, scale, size):
        shape = size if size is not None else np.broadcast_shapes(np.shape(loc), np.shape(scale))
        z = rng.standard_normal(shape)
        bad = np.abs(z) > 2
        while bad.any():
            z[bad] = rng.standard_normal(int(bad.sum()))
            bad = np.abs(z) > 2
        return loc + scale * z


class IntegersRV(RandomVariable):
    """Integers uniform on [low, high) (NumPy's Generator.integers)."""

    dist = "integers"
    params = (("low", "int", 0), ("high", "int", 0))
    default_dtype = "int64"

    def rng_fn(self, rng, low, high, size):
        if np.any(np.asarray(low) >= np.asarray(high)):
            raise ValueError(f"low >= high (low {low!r}, high {high!r}): the range is empty")
        if isinstance(rng, np.random.RandomState):  # Theano's RandomStreams
            return rng.randint(low, high, size=size, dtype="int64")
        return rng.integers(low, high, size=size)


class BinomialRV(RandomVariable):
    """Number of successes in n trials of probability p."""

    dist = "binomial"
    params = (("n", "int", 0), ("p", "float", 0))
    checks = ((0, _nonneg, "n >= 0"), (1, lambda p: (p >= 0) & (p <= 1), "0 <= p <= 1"))
    default_dtype = "int64"


class PoissonRV(RandomVariable):
    dist = "poisson"
    params = (("lam", "float", 0),)
    checks = ((0, _nonneg, "lam >= 0"),)
    default_dtype = "int64"


class ExponentialRV(RandomVariable):
    dist = "exponential"
    params = (("scale", "float", 0),)
    checks = ((0, _nonneg, "scale >= 0"),)


class GammaRV(RandomVariable):
    dist = "gamma"
    params = (("shape", "float", 0), ("scale", "float", 0))
    checks = ((0, _nonneg, "shape >= 0"), (1, _nonneg, "scale >= 0"))


class BetaRV(RandomVariable):
    dist = "beta"
    params = (("a", "float", 0), ("b", "float", 0))
    checks = ((0, _positive, "a > 0"), (1, _positive, "b > 0"))


def _valid_pvals(p):
    return np.all(p >= 0) and np.all(np.sum(p, axis=-1) <= 1 + 1e-6)


class MultinomialRV(RandomVariable):
    """Counts of n draws among len(pvals) categories (the last axis of pvals)."""

    dist = "multinomial"
    params = (("n", "int", 0), ("pvals", "float", 1))
    checks = ((0, _nonneg, "n >= 0"),
              (1, _valid_pvals, "pvals >= 0 summing to at most 1 along the last axis"))
    ndim_supp = 1
    default_dtype = "int64"

    def rng_fn(self, rng, n, pvals, size):
        pvals = np.asarray(pvals, dtype="float64")
        # NumPy wants sum(pvals[:-1]) <= 1: renormalise float32 rounding away
        pvals = pvals / np.maximum(pvals.sum(axis=-1, keepdims=True), 1.0)
        if isinstance(rng, np.random.RandomState) and (pvals.ndim > 1 or np.ndim(n) > 0):
            # RandomState takes one distribution and one count a draw: loop over the batch
            shape = tuple(size) if size is not None else np.broadcast_shapes(np.shape(n),
                                                                             pvals.shape[:-1])
            n, pvals = np.broadcast_to(n, shape), np.broadcast_to(pvals, shape + pvals.shape[-1:])
            return np.array([rng.multinomial(n[i], pvals[i]) for i in np.ndindex(shape)],
                            dtype="int64").reshape(shape + pvals.shape[-1:])
        return rng.multinomial(n, pvals, size=size)

    def support_static_shape(self, params):
        return (params[1].type.shape[-1],)

    def support_shape(self, node, input_shapes):
        return (input_shapes[3][-1],)


class ChoiceRV(RandomVariable):
    """Draws from the entries of a (or from range(a) for a scalar a), with probabilities p."""

    __props__ = ("dtype", "has_size", "replace", "has_p")
    params = (("a", "any", 0), ("p", "float", 0))

    def __init__(self, dtype=None, has_size=False, replace=True, has_p=False):
        super().__init__("int64" if dtype is None else dtype, has_size)
        self.replace = bool(replace)
        self.has_p = bool(has_p)

    def _prepare_params(self, params):
        a, p = [as_tensor_variable(v) for v in params]
        if a.type.ndim > 1:
            raise TypeError(f"{self}: a must be an integer scalar or a vector, got {a.type}")
        if a.type.ndim == 0 and np.dtype(a.type.dtype).kind not in "iu":
            raise TypeError(f"{self}: a scalar a must be an integer (choose from range(a)), "
                            f"got {a.type}")
        if self.has_p and (p.type.ndim != 1 or np.dtype(p.type.dtype).kind != "f"):
            raise TypeError(f"{self}: p must be a float vector, got {p.type}")
        if isinstance(a, Constant) and a.type.ndim == 0 and int(a.data) <= 0:
            raise ValueError(f"{self}: a must be > 0 (the number of choices), got {int(a.data)}")
        if self.has_p and isinstance(p, Constant):
            pv = np.asarray(p.data)
            if np.any(pv < 0) or abs(pv.sum() - 1) > 1e-6:
                raise ValueError(f"{self}: p must be >= 0 and sum to 1, got {pv!r}")
        return [a, p]

    def output_shape(self, size, has_size, params):
        if not has_size:
            return ()
        return tuple(s if isinstance(s, int) else None for s in size_entries(size))

    def rng_fn(self, rng, a, p, size):
        a = a.item() if np.ndim(a) == 0 else a
        return rng.choice(a, size=size, replace=self.replace, p=p if self.has_p else None)

    def infer_shape(self, fgraph, node, input_shapes):
        return [None, tuple(size_entries(node.inputs[1])) if self.has_size else ()]


class PermutationRV(RandomVariable):
    """A random permutation of range(x) (one per entry of size), or of x's first axis."""

    params = (("x", "any", 0),)

    def __init__(self, dtype=None, has_size=False):
        super().__init__("int64" if dtype is None else dtype, has_size)

    def _prepare_params(self, params):
        x = as_tensor_variable(params[0])
        if x.type.ndim == 0 and np.dtype(x.type.dtype).kind not in "iu":
            raise TypeError(f"{self}: a scalar x must be an integer (permute range(x)), got {x.type}")
        if x.type.ndim > 0 and self.has_size:
            raise ValueError(f"{self}: size is only allowed when permuting range(n) for a scalar n")
        if isinstance(x, Constant) and x.type.ndim == 0 and int(x.data) < 0:
            raise ValueError(f"{self}: n must be >= 0, got {int(x.data)}")
        return [x]

    def output_shape(self, size, has_size, params):
        x = params[0]
        if x.type.ndim > 0:
            return x.type.shape
        n = int(x.data) if isinstance(x, Constant) else None
        batch = tuple(s if isinstance(s, int) else None for s in size_entries(size)) if has_size \
            else ()
        return batch + (n,)

    def rng_fn(self, rng, x, size):
        if np.ndim(x) > 0:
            return rng.permutation(x)
        n = int(x)
        if size is None:
            return rng.permutation(n)
        if isinstance(rng, np.random.RandomState):  # no permuted(): one permutation a draw
            return np.array([rng.permutation(n) for _ in np.ndindex(tuple(size))],
                            dtype="int64").reshape(tuple(size) + (n,))
        return rng.permuted(np.broadcast_to(np.arange(n), tuple(size) + (n,)), axis=-1)

    def infer_shape(self, fgraph, node, input_shapes):
        x = node.inputs[2]
        if x.type.ndim > 0:
            return [None, input_shapes[2]]
        batch = tuple(size_entries(node.inputs[1])) if self.has_size else ()
        return [None, batch + (x,)]


class MultinomialWithoutReplacementRV(RandomVariable):
    """For each row of pvals, n distinct category indices drawn with probabilities pvals."""

    params = (("n", "int", 0), ("pvals", "float", 2))
    checks = ((0, _nonneg, "n >= 0"),
              (1, lambda p: np.all(p >= 0) and np.allclose(p.sum(axis=-1), 1, atol=1e-5),
               "pvals >= 0 summing to 1 along each row"))
    default_dtype = "int64"

    def _prepare_params(self, params):
        out = super()._prepare_params(params)
        if out[1].type.ndim != 2 or out[0].type.ndim != 0:
            raise TypeError(f"{self}: expects a scalar n and a matrix pvals, got "
                            f"{out[0].type} and {out[1].type}")
        return out

    def output_shape(self, size, has_size, params):
        n = params[0]
        return (params[1].type.shape[0], int(n.data) if isinstance(n, Constant) else None)

    def rng_fn(self, rng, n, pvals, size):
        n = int(n)
        pvals = np.asarray(pvals, dtype="float64")
        if n > pvals.shape[1]:
            raise ValueError(f"cannot draw {n} distinct categories out of {pvals.shape[1]}")
        out = np.empty((pvals.shape[0], n), dtype="int64")
        for r in range(pvals.shape[0]):
            out[r] = rng.choice(pvals.shape[1], size=n, replace=False, p=pvals[r] / pvals[r].sum())
        return out

    def infer_shape(self, fgraph, node, input_shapes):
        return [None, (input_shapes[3][0], node.inputs[2])]


__all__ = ["RandomVariable", "UniformRV", "NormalRV", "TruncatedNormalRV", "IntegersRV",
           "BinomialRV", "PoissonRV", "ExponentialRV", "GammaRV", "BetaRV", "MultinomialRV",
           "ChoiceRV", "PermutationRV", "MultinomialWithoutReplacementRV", "SizeVector",
           "VectorEntry", "as_size", "size_entries"]
