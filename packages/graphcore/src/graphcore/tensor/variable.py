"""TensorVariable: the symbolic array users manipulate, with NumPy's operators and methods."""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Constant, Variable
from graphcore.graph.hooks import tensor_api as _api
from graphcore.graph.shared import SharedVariable

# The operators and methods build ops of the tensor op families, a layer above this
# module: `_api` is graph.hooks.tensor_api, where graphcore.tensor.math (and shape,
# subtensor, ... for the methods named after them) register their functions.


_COMPARISONS = frozenset(("lt", "gt", "le", "ge", "eq", "neq"))


def _is_comparison(var):
    """Whether `var` is the result of an elementwise comparison (x < y, T.eq(x, y), ...)."""
    owner = getattr(var, "owner", None)
    scalar_op = getattr(owner.op, "scalar_op", None) if owner is not None else None
    return getattr(scalar_op, "name", None) in _COMPARISONS


class _TensorOperators:
    """Operators and methods shared by tensor variables and constants."""

    # arithmetic
    def __add__(self, other): return _api.add(self, other)
    def __radd__(self, other): return _api.add(other, self)
    def __sub__(self, other): return _api.sub(self, other)
    def __rsub__(self, other): return _api.sub(other, self)
    def __mul__(self, other): return _api.mul(self, other)
    def __rmul__(self, other): return _api.mul(other, self)
    def __truediv__(self, other): return _api.true_div(self, other)
    def __rtruediv__(self, other): return _api.true_div(other, self)
    def __floordiv__(self, other): return _api.int_div(self, other)
    def __rfloordiv__(self, other): return _api.int_div(other, self)
    def __mod__(self, other): return _api.mod(self, other)
    def __rmod__(self, other): return _api.mod(other, self)
    def __pow__(self, other): return _api.pow(self, other)
    def __rpow__(self, other): return _api.pow(other, self)
    def __neg__(self): return _api.neg(self)
    def __pos__(self): return self
    def __abs__(self): return _api.abs(self)
    def __matmul__(self, other): return _api.matmul(self, other)
    def __rmatmul__(self, other): return _api.matmul(other, self)

    # comparisons (== and != stay identity comparisons, as in Theano: use T.eq / T.neq)
    def __lt__(self, other): return _api.lt(self, other)
    def __le__(self, other): return _api.le(self, other)
    def __gt__(self, other): return _api.gt(self, other)
    def __ge__(self, other): return _api.ge(self, other)

    # bitwise, on ints and bools
    def __and__(self, other): return _api.and_(self, other)
    def __rand__(self, other): return _api.and_(other, self)
    def __or__(self, other): return _api.or_(self, other)
    def __ror__(self, other): return _api.or_(other, self)
    def __xor__(self, other): return _api.xor(self, other)
    def __rxor__(self, other): return _api.xor(other, self)
    def __invert__(self): return _api.invert(self)

    def __bool__(self):
        # Theano's rule: every variable is truthy (`if W:` / `if not W:` in a model's
        # constructor asks "was a parameter passed?"), except a comparison's result, so that
        # `a < b < c` (Python's `(a < b) and (b < c)`) and `if x > 0:` still raise
        if _is_comparison(self):
            raise TypeError(
                f"the truth value of the symbolic comparison {self} is not known until the "
                "function runs; use T.switch / T.where or graphcore.ifelse for symbolic "
                "conditions (and T.and_(a < b, b < c) for a chained comparison)")
        return True

    def __iter__(self):
        if self.type.shape and self.type.shape[0] is not None:
            return (self[i] for i in range(self.type.shape[0]))
        raise TypeError(f"cannot iterate over {self}: its length is not known statically")

    def __len__(self):
        raise TypeError("len() of a symbolic tensor is not defined; use x.shape[0]")

    # indexing
    def __getitem__(self, index):
        return _api.getitem(self, index)

    def __setitem__(self, index, value):
        raise TypeError("symbolic tensors cannot be assigned to: instead of x[idx] = y write "
                        "x = T.set_subtensor(x[idx], y) (and T.inc_subtensor(x[idx], y) for +=)")

    def take(self, indices, axis=None, mode="raise"):
        return _api.take(self, indices, axis=axis, mode=mode)

    # attributes
    @property
    def ndim(self):
        return self.type.ndim

    @property
    def dtype(self):
        return self.type.dtype

    @property
    def broadcastable(self):
        return self.type.broadcastable

    @property
    def shape(self):
        return _api.shape(self)

    @property
    def size(self):
        return _api.size(self)  # a constant when the static shape is known

    @property
    def T(self):
        return self.transpose()

    # shape methods
    def dimshuffle(self, *pattern):
        if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
            pattern = tuple(pattern[0])
        return _api.DimShuffle(self.type.broadcastable, pattern)(self)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = axes[0]
        return _api.transpose(self, axes or None)

    def reshape(self, *shape, ndim=None):
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]
        return _api.reshape(self, shape, ndim=ndim)

    def flatten(self, ndim=1, outdim=None):
        return _api.flatten(self, ndim, outdim=outdim)

    def ravel(self):
        return self.flatten()

    def squeeze(self, axis=None):
        return _api.squeeze(self, axis)

    def swapaxes(self, axis1, axis2):
        return _api.swapaxes(self, axis1, axis2)

    def repeat(self, repeats, axis=None):
        return _api.repeat(self, repeats, axis)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return _api.diagonal(self, offset, axis1, axis2)

    def trace(self, offset=0):
        return _api.trace(self, offset)

    def fill(self, value):
        """Theano's x.fill(v): an array like x filled with v (not in place)."""
        return _api.fill(self, value)

    def astype(self, dtype):
        return _api.cast(self, dtype)

    def copy(self, name=None):
        out = _api.tensor_copy(self)
        out.name = name
        return out

    # reductions
    def sum(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _api.sum(self, axis=axis, keepdims=keepdims, dtype=dtype, acc_dtype=acc_dtype)

    def prod(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _api.prod(self, axis=axis, keepdims=keepdims, dtype=dtype, acc_dtype=acc_dtype)

    def mean(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _api.mean(self, axis=axis, keepdims=keepdims, dtype=dtype, acc_dtype=acc_dtype)

    def max(self, axis=None, keepdims=False):
        return _api.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _api.min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return _api.argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return _api.argmin(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, ddof=0, keepdims=False, corrected=False):
        return _api.var(self, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected)

    def std(self, axis=None, ddof=0, keepdims=False, corrected=False):
        return _api.std(self, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected)

    def all(self, axis=None, keepdims=False):
        return _api.all(self, axis=axis, keepdims=keepdims)

    def any(self, axis=None, keepdims=False):
        return _api.any(self, axis=axis, keepdims=keepdims)

    def sort(self, axis=-1, kind="quicksort", order=None):
        return _api.sort(self, axis=axis, kind=kind, order=order)

    def argsort(self, axis=-1, kind="quicksort", order=None):
        return _api.argsort(self, axis=axis, kind=kind, order=order)

    def cumsum(self, axis=None):
        return _api.cumsum(self, axis=axis)

    def cumprod(self, axis=None):
        return _api.cumprod(self, axis=axis)

    def conj(self):
        return _api.conj(self)

    conjugate = conj

    @property
    def real(self):
        return _api.real(self)

    @property
    def imag(self):
        return _api.imag(self)

    # other methods
    def dot(self, other):
        return _api.dot(self, other)

    def clip(self, a_min, a_max):
        return _api.clip(self, a_min, a_max)

    def __round__(self, ndigits=None):
        return _api.round(self)

    def round(self, mode="half_to_even"):
        return _api.round(self, mode)

    def nonzero(self, return_matrix=False):
        return _api.nonzero(self, return_matrix=return_matrix)

    def nonzero_values(self):
        return _api.nonzero_values(self)

    def zeros_like(self, dtype=None):
        return _api.zeros_like(self, dtype=dtype)

    def ones_like(self, dtype=None):
        return _api.ones_like(self, dtype=dtype)


class TensorVariable(_TensorOperators, Variable):
    """A symbolic n-dimensional array."""

    def __hash__(self):
        return id(self)

    def __eq__(self, other):  # identity, as in Theano: use T.eq for elementwise equality
        return self is other


class TensorConstant(_TensorOperators, Constant):
    """A tensor with a fixed value. `weak` marks constants made from Python numbers (NEP 50)."""

    weak = False

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    @property
    def value(self):
        return self.data

    def clone(self, name=None):
        cp = super().clone(name)
        cp.weak = self.weak
        return cp


class TensorSharedVariable(_TensorOperators, SharedVariable):
    """A shared tensor: usable anywhere a tensor is, with get_value/set_value."""

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other


# numpy operators return NotImplemented -> ours run
TensorVariable.__array_ufunc__ = None
TensorConstant.__array_ufunc__ = None
TensorSharedVariable.__array_ufunc__ = None
