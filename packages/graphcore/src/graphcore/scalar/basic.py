"""Scalar ops: the per-element computations that Elemwise maps over arrays.

A ScalarOp is an Op on 0-d tensors (so Composite can hold a graph of them)
that also knows its result dtype and a vectorised NumPy `impl`. Runtimes map
scalar op classes to their own opcodes; nothing here is runtime-specific.
"""

from __future__ import annotations

import functools

import numpy as np

from graphcore.graph.basic import Apply
from graphcore.graph.hooks import tensor_api
from graphcore.graph.null_type import disconnected_type, grad_not_implemented
from graphcore.graph.op import Op

# Every node creation asks these for each input; NumPy computes `dtype.name` in Python
# (through np.issubdtype), microseconds a call, so the answers are cached by the dtype
# spellings asked (strings, np.dtype objects, scalar types: a small set). An unhashable
# spelling skips the cache.


@functools.lru_cache(maxsize=1024)
def _dtype_name(dtype):
    return np.dtype(dtype).name


def dtype_name(dtype):
    """np.dtype(dtype).name, cached."""
    try:
        return _dtype_name(dtype)
    except TypeError:
        return np.dtype(dtype).name


@functools.lru_cache(maxsize=4096)
def _upcast(dtypes):
    return np.result_type(*[np.dtype(d) for d in dtypes]).name


def upcast(*dtypes):
    """NumPy's result dtype of combining `dtypes` (all strong)."""
    try:
        return _upcast(dtypes)
    except TypeError:
        return np.result_type(*[np.dtype(d) for d in dtypes]).name


@functools.lru_cache(maxsize=1024)
def _float_of(dtype):
    d = np.dtype(dtype)
    if d.kind in "fc":
        return d.name
    return "float32" if d.itemsize <= 2 else "float64"


def float_of(dtype):
    """Theano's float dtype for a float-valued function of `dtype`: small ints give float32."""
    try:
        return _float_of(dtype)
    except TypeError:
        return _float_of.__wrapped__(dtype)


@functools.lru_cache(maxsize=1024)
def _is_discrete(dtype):
    return np.dtype(dtype).kind in "biu"


def is_discrete(dtype):
    try:
        return _is_discrete(dtype)
    except TypeError:
        return np.dtype(dtype).kind in "biu"


_UFUNC_DTYPES = {}


def ufunc_result_dtypes(ufunc, dtypes):
    """The output dtypes NumPy's `ufunc` gives for inputs of `dtypes` (None: no loop for them).

    Asking NumPy itself (on empty arrays, cached) keeps the integer and boolean
    rules exactly NumPy's: bool // bool is int8, floor(int) stays int, ...
    """
    key = (ufunc, tuple(dtypes))
    if key not in _UFUNC_DTYPES:
        try:
            with np.errstate(all="ignore"):
                res = ufunc(*[np.empty(0, dtype=d) for d in dtypes])
            res = res if isinstance(res, tuple) else (res,)
            _UFUNC_DTYPES[key] = tuple(r.dtype.name for r in res)
        except (TypeError, ValueError):
            _UFUNC_DTYPES[key] = None
    return _UFUNC_DTYPES[key]


class ScalarOp(Op):
    """An elementwise computation; `dtype_rule` picks the output dtype from the input dtypes.

    dtype_rule: "upcast" (NumPy promotion; for an op with a NumPy `ufunc`, the
    dtype that ufunc itself gives, so bool and integer results match NumPy),
    "float" (promote, then Theano's upgrade to float: int8/int16 -> float32,
    wider ints -> float64), "bool" (comparisons and predicates), "same" (first
    input).
    """

    nin = 1  # -1: any number (variadic add/mul)
    nout = 1
    ufunc = None
    dtype_rule = "upcast"
    identity = None  # for reductions: the neutral element
    commutative = False
    associative = False
    requires_discrete = False  # bitwise ops take ints and bools only
    requires_float = False

    @property
    def name(self):
        return type(self).__name__.lower()

    def __str__(self):
        if self.__props__:
            return f"{self.name}{{{','.join(str(getattr(self, p)) for p in self.__props__)}}}"
        return self.name

    # -- types ------------------------------------------------------------
    def check_input_dtypes(self, dtypes):
        if self.nin != -1 and len(dtypes) != self.nin:
            raise TypeError(f"{self}: expected {self.nin} inputs, got {len(dtypes)}")
        if self.requires_discrete:
            bad = [d for d in dtypes if not is_discrete(d)]
            if bad:
                raise TypeError(f"{self}: expected integer or boolean inputs, got dtype {bad[0]}")
        if any(np.dtype(d).kind == "c" for d in dtypes) and self.dtype_rule == "bool" and \
                self.name in ("lt", "gt", "le", "ge"):
            raise TypeError(f"{self}: complex numbers are not ordered (got {dtypes})")

    def output_dtypes(self, *dtypes):
        self.check_input_dtypes(dtypes)
        rule = self.dtype_rule
        if rule == "upcast":
            if self.ufunc is not None:
                res = ufunc_result_dtypes(self.ufunc, [dtype_name(d) for d in dtypes])
                if res is None:
                    raise TypeError(f"{self}: not defined for inputs of dtype "
                                    f"{', '.join(np.dtype(d).name for d in dtypes)} (as in NumPy)")
                return res[: self.nout] if len(res) >= self.nout else (res[0],) * self.nout
            out = upcast(*dtypes)
        elif rule == "float":
            out = float_of(upcast(*dtypes))
        elif rule == "bool":
            out = "bool"
        elif rule == "same":
            out = dtype_name(dtypes[0])
        else:
            raise ValueError(f"{self}: unknown dtype rule {rule!r}")
        return (out,) * self.nout

    def compute_dtype(self, *dtypes):
        """The dtype the inputs are converted to before `impl` runs (None: leave them)."""
        return float_of(upcast(*dtypes)) if self.dtype_rule == "float" else None

    # -- the reference computation ----------------------------------------
    def impl(self, *inputs):
        return self.ufunc(*inputs)

    def compute(self, inputs, out_dtypes):
        """Run impl on NumPy values and return outputs of exactly `out_dtypes`."""
        cdt = self.compute_dtype(*[x.dtype for x in inputs])
        if cdt is not None:
            inputs = [np.asarray(x, dtype=cdt) for x in inputs]
        with np.errstate(all="ignore"):
            res = self.impl(*inputs)
        if self.nout == 1:
            res = (res,)
        return [np.asarray(r, dtype=d) for r, d in zip(res, out_dtypes)]

    # -- as a graph op on 0-d tensors (inside Composite) ------------------
    def make_node(self, *inputs):
        # 0-d tensors: the tensor layer above registers its types and conversion in tensor_api
        inputs = [tensor_api.as_tensor_variable(i) for i in inputs]
        for i in inputs:
            if i.type.ndim != 0:
                raise TypeError(f"scalar op {self}: inputs must be 0-d, got {i.type}")
        dtypes = self.output_dtypes(*[i.type.dtype for i in inputs])
        outs = [tensor_api.TensorType(d, ())() for d in dtypes]
        return Apply(self, inputs, outs)

    def perform(self, node, inputs, output_storage):
        res = self.compute(inputs, [o.type.dtype for o in node.outputs])
        for storage, r in zip(output_storage, res):
            storage[0] = r

    def infer_shape(self, fgraph, node, input_shapes):
        return [()] * len(node.outputs)

    # -- gradients (written on tensors; Elemwise handles broadcasting) ----
    def L_op(self, inputs, outputs, output_grads):
        return self.grad(inputs, output_grads)

    def grad(self, inputs, output_grads):
        return [grad_not_implemented(self, i, x) for i, x in enumerate(inputs)]


class UnaryScalarOp(ScalarOp):
    nin = 1


class BinaryScalarOp(ScalarOp):
    nin = 2


def disconnected_grads(inputs):
    return [disconnected_type() for _ in inputs]
