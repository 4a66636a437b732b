"""Linear algebra on matrices, NumPy flavour (Theano's `tensor.nlinalg`).

matrix_inverse, det, slogdet, eig, eigh, svd, qr, pinv, trace, matrix_dot,
matrix_power, norm. Each op works on one matrix (2-d); `perform` calls
numpy.linalg / scipy.linalg. Results of integer inputs are float64
(NumPy's rule); float32 stays float32.
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Apply
from graphcore.graph.null_type import DisconnectedType
from graphcore.graph.hooks import tensor_api
from graphcore.graph.op import Op
from graphcore.tensor import math
from graphcore.tensor.basic import as_tensor_variable, cast
from graphcore.tensor.creation import eye, identity_like, tril, triu
from graphcore.tensor.dot import dot
from graphcore.tensor.extra_ops import diagonal
from graphcore.tensor.linalg_products import _dims, _prod, matmul
from graphcore.tensor.shape import reshape
from graphcore.tensor.type import TensorType

# Theano's nlinalg also held the diagonal helpers
from graphcore.tensor.extra_ops import (AllocDiag, ExtractDiag, alloc_diag, diag,  # noqa: F401
                                        extract_diag)


def _float_dtype(dtype):
    d = np.dtype(dtype)
    if d.kind in "fc":
        return "float32" if d.name == "float16" else d.name
    return "float64"


def _matrix(x, who, square=False, stacked=False):
    """x as a floating matrix (a stack of them with `stacked`), or an error naming `who`."""
    x = as_tensor_variable(x)
    if x.type.ndim != 2 and not (stacked and x.type.ndim > 2):
        want = "a matrix or a stack of matrices (2 or more" if stacked else "a matrix (2"
        raise TypeError(f"{who}: expected {want} dimensions), got {x} of type {x.type}")
    if np.dtype(x.type.dtype).kind == "c":
        raise TypeError(f"{who}: complex matrices are not supported, got {x.type}")
    x = cast(x, _float_dtype(x.type.dtype))
    if square:
        n, m = x.type.shape[-2:]
        if n is not None and m is not None and n != m:
            raise ValueError(f"{who}: expected a square matrix, got static shape {x.type.shape}")
    return x


def _check_square(who, a):
    if a.ndim < 2 or a.shape[-2] != a.shape[-1]:
        raise ValueError(f"{who}: expected a square matrix, got shape {a.shape}")


def _square_shape(x):
    n, m = x.type.shape[-2:]
    s = n if n is not None else m
    return x.type.shape[:-2] + (s, s)


def _mT(x):
    """x with its last two axes swapped (the transpose of each matrix of a stack)."""
    nd = x.type.ndim
    return x.dimshuffle(list(range(nd - 2)) + [nd - 1, nd - 2])


def _per_matrix(v, ndim):
    """A scalar per matrix (shape batch) made to broadcast against the stack (batch, 1, 1)."""
    return v.dimshuffle(list(range(v.type.ndim)) + ["x", "x"]) if ndim > 2 else v


def _complex_of(dtype):
    return "complex64" if dtype == "float32" else "complex128"


# ------------------------------------------------------------------- inverse
class MatrixInverse(Op):
    """The inverse of a square matrix, or of each matrix of a stack (np.linalg.inv)."""

    def make_node(self, x):
        x = _matrix(x, "matrix_inverse", square=True, stacked=True)
        return Apply(self, [x], [TensorType(x.type.dtype, _square_shape(x))()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        _check_square("matrix_inverse", x)
        output_storage[0][0] = np.linalg.inv(x).astype(node.outputs[0].type.dtype, copy=False)

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(input_shapes[0])]

    def L_op(self, inputs, outputs, output_grads):
        # d(X^-1) = -X^-1 dX X^-1  =>  grad_X = -X^-T G X^-T

        xit = _mT(outputs[0])
        return [-matmul(matmul(xit, output_grads[0]), xit)]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        xi = self(inputs[0])
        return [-matmul(matmul(xi, eval_points[0]), xi)]


matrix_inverse = MatrixInverse()
inv = matrix_inverse


def matrix_dot(*args):
    """The product of several matrices, left to right: matrix_dot(a, b, c) = a @ b @ c."""
    if not args:
        raise TypeError("matrix_dot: needs at least one argument")
    out = as_tensor_variable(args[0])
    for a in args[1:]:
        out = dot(out, a)
    return out


# ------------------------------------------------------------------------ det
class Det(Op):
    """The determinant of a square matrix (a scalar), or of each matrix of a stack."""

    def make_node(self, x):
        x = _matrix(x, "det", square=True, stacked=True)
        return Apply(self, [x], [TensorType(x.type.dtype, x.type.shape[:-2])()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        _check_square("det", x)
        output_storage[0][0] = np.asarray(np.linalg.det(x), dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(input_shapes[0][:-2])]

    def L_op(self, inputs, outputs, output_grads):
        # d det(X) / dX = det(X) X^-T
        (x,), (d,), (g,) = inputs, outputs, output_grads
        nd = x.type.ndim
        return [_per_matrix(g * d, nd) * _mT(matrix_inverse(x))]


det = Det()


class SLogDet(Op):
    """(sign, log|det|) of a square matrix (np.linalg.slogdet); avoids det's overflow."""

    def make_node(self, x):
        x = _matrix(x, "slogdet", square=True, stacked=True)
        batch = x.type.shape[:-2]
        return Apply(self, [x], [TensorType(x.type.dtype, batch)(), TensorType(x.type.dtype, batch)()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        _check_square("slogdet", x)
        sign, logdet = np.linalg.slogdet(x)
        dtype = node.outputs[0].type.dtype
        output_storage[0][0] = np.asarray(sign, dtype=dtype)
        output_storage[1][0] = np.asarray(logdet, dtype=dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        batch = tuple(input_shapes[0][:-2])
        return [batch, batch]

    def L_op(self, inputs, outputs, output_grads):
        # the sign is piecewise constant; d log|det X| / dX = X^-T
        (x,) = inputs
        g_logdet = output_grads[1]
        return [_per_matrix(g_logdet, x.type.ndim) * _mT(matrix_inverse(x))]


def slogdet(x):
    """(sign, logabsdet) of the square matrix x (per matrix for a stack)."""
    return tuple(SLogDet()(x))


# ---------------------------------------------------------------- eigen
class Eig(Op):
    """Eigenvalues w and right eigenvectors v of a general square matrix (np.linalg.eig).

    Outputs are complex (complex128, or complex64 for float32 input): a real
    matrix may have complex eigenvalues, and the output type cannot depend
    on the values. Theano returned the real part; take `real()` for that.
    """

    def make_node(self, x):
        x = _matrix(x, "eig", square=True)
        c = _complex_of(x.type.dtype)
        n = _square_shape(x)
        return Apply(self, [x], [TensorType(c, n[:1])(), TensorType(c, n)()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        _check_square("eig", x)
        w, v = np.linalg.eig(x)
        dtype = node.outputs[0].type.dtype
        output_storage[0][0] = w.astype(dtype)
        output_storage[1][0] = v.astype(dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        n = input_shapes[0][0]
        return [(n,), (n, n)]


eig = Eig()


class Eigh(Op):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix (np.linalg.eigh).

    Only the triangle `UPLO` ('L' lower, 'U' upper) is read.
    """

    __props__ = ("UPLO",)

    def __init__(self, UPLO="L"):
        if UPLO not in ("L", "U"):
            raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
        self.UPLO = UPLO

    def make_node(self, x):
        x = _matrix(x, "eigh", square=True)
        n = _square_shape(x)
        return Apply(self, [x], [TensorType(x.type.dtype, n[:1])(), TensorType(x.type.dtype, n)()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        _check_square("eigh", x)
        w, v = np.linalg.eigh(x, self.UPLO)
        dtype = node.outputs[0].type.dtype
        output_storage[0][0] = w.astype(dtype, copy=False)
        output_storage[1][0] = v.astype(dtype, copy=False)

    def infer_shape(self, fgraph, node, input_shapes):
        n = input_shapes[0][0]
        return [(n,), (n, n)]

    def L_op(self, inputs, outputs, output_grads):
        (x,) = inputs
        w, v = outputs
        gw, gv = output_grads
        gw = math.zeros_like(w) if gw is None or isinstance(gw.type, DisconnectedType) else gw
        gv = math.zeros_like(v) if gv is None or isinstance(gv.type, DisconnectedType) else gv
        return [EighGrad(self.UPLO)(x, w, v, gw, gv)]

    def R_op(self, inputs, eval_points):
        """dw_i = q_i^T dA q_i, dQ = Q (F * (Q^T dA Q)) with F_ij = 1 / (w_j - w_i) off the
        diagonal; dA is the symmetric matrix made of the triangle of v that is read."""
        dv = eval_points[0]
        if dv is None:
            return [None, None]
        return list(_eigh_tangent(inputs[0], dv, self.UPLO))


def _eigh_tangent(x, dv, UPLO, values_only=False):
    w, q = Eigh(UPLO)(x)
    dA = tril(dv) + tril(dv, -1).T if UPLO == "L" else triu(dv) + triu(dv, 1).T
    m = math.dot(math.dot(q.T, dA), q)
    dw = ExtractDiag(0, 0, 1)(m)
    if values_only:
        return dw
    gap = w.dimshuffle("x", 0) - w.dimshuffle(0, "x")  # w_j - w_i
    on_diag = math.eq(eye(w.shape[0], dtype="int8"), 1)
    f = math.switch(on_diag, 0, 1 / math.switch(on_diag, 1, gap))
    return dw, math.dot(q, f * m)


def eigh(a, UPLO="L"):
    """(w, v): eigenvalues in ascending order and eigenvectors of the symmetric matrix a."""
    return tuple(Eigh(UPLO)(a))


class EighGrad(Op):
    """The gradient of eigh w.r.t. its matrix, given those of w and v (Theano's EighGrad).

    With F[n, m] = 1 / (w_n - w_m) off the diagonal, G = V (diag(gw) + F * (gV^T V)) V^T;
    since eigh reads one triangle, the result is that triangle of G plus the
    transpose of the other (strict) one.
    """

    __props__ = ("UPLO",)

    def __init__(self, UPLO="L"):
        self.UPLO = UPLO

    def make_node(self, x, w, v, gw, gv):
        x, w, v, gw, gv = (as_tensor_variable(i) for i in (x, w, v, gw, gv))
        return Apply(self, [x, w, v, gw, gv], [TensorType(x.type.dtype, x.type.shape)()])

    def perform(self, node, inputs, output_storage):
        x, w, v, gw, gv = inputs
        diff = w[np.newaxis, :] - w[:, np.newaxis]  # diff[n, m] = w_m - w_n
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(np.eye(len(w), dtype=bool), 0.0, 1.0 / -diff)  # 1 / (w_n - w_m)
        m = np.diag(gw) + f * (gv.T @ v)
        g = v @ m @ v.T
        if self.UPLO == "L":
            out = np.tril(g) + np.triu(g, 1).T
        else:
            out = np.triu(g) + np.tril(g, -1).T
        output_storage[0][0] = out.astype(node.outputs[0].type.dtype, copy=False)

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(input_shapes[0])]


# ------------------------------------------------------------------- svd, qr
class SVD(Op):
    """Singular value decomposition (np.linalg.svd): (U, s, V^H), or s alone."""

    __props__ = ("full_matrices", "compute_uv")

    def __init__(self, full_matrices=True, compute_uv=True):
        self.full_matrices = bool(full_matrices)
        self.compute_uv = bool(compute_uv)

    def make_node(self, x):
        x = _matrix(x, "svd")
        m, n = x.type.shape
        k = None if m is None or n is None else min(m, n)
        s = TensorType(x.type.dtype, (k,))()
        if not self.compute_uv:
            return Apply(self, [x], [s])
        u_cols, vt_rows = (m, n) if self.full_matrices else (k, k)
        return Apply(self, [x], [TensorType(x.type.dtype, (m, u_cols))(), s,
                                 TensorType(x.type.dtype, (vt_rows, n))()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        dtype = node.outputs[0].type.dtype
        if not self.compute_uv:
            output_storage[0][0] = np.linalg.svd(x, compute_uv=False).astype(dtype, copy=False)
            return
        u, s, vt = np.linalg.svd(x, full_matrices=self.full_matrices)
        for cell, val in zip(output_storage, (u, s, vt)):
            cell[0] = val.astype(dtype, copy=False)

    def infer_shape(self, fgraph, node, input_shapes):
        m, n = input_shapes[0]
        k = math.minimum(m, n)
        if not self.compute_uv:
            return [(k,)]
        if self.full_matrices:
            return [(m, m), (k,), (n, n)]
        return [(m, k), (k,), (k, n)]


def svd(a, full_matrices=True, compute_uv=True):
    """np.linalg.svd: (U, s, V^H) of the matrix a, or s alone with compute_uv=False."""
    out = SVD(full_matrices, compute_uv)(a)
    return tuple(out) if compute_uv else out


class QRFull(Op):
    """QR decomposition (np.linalg.qr) in mode 'reduced', 'complete' or 'r'."""

    __props__ = ("mode",)

    def __init__(self, mode="reduced"):
        if mode not in ("reduced", "complete", "r"):
            raise ValueError(f"qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
        self.mode = mode

    def make_node(self, x):
        x = _matrix(x, "qr")
        m, n = x.type.shape
        k = None if m is None or n is None else min(m, n)
        rows = m if self.mode == "complete" else k
        r = TensorType(x.type.dtype, (rows, n))()
        if self.mode == "r":
            return Apply(self, [x], [r])
        return Apply(self, [x], [TensorType(x.type.dtype, (m, rows))(), r])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        dtype = node.outputs[0].type.dtype
        res = np.linalg.qr(x, mode=self.mode)
        if self.mode == "r":
            output_storage[0][0] = np.asarray(res, dtype=dtype)
            return
        output_storage[0][0] = np.asarray(res[0], dtype=dtype)
        output_storage[1][0] = np.asarray(res[1], dtype=dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        m, n = input_shapes[0]
        rows = m if self.mode == "complete" else math.minimum(m, n)
        if self.mode == "r":
            return [(rows, n)]
        return [(m, rows), (rows, n)]


def qr(a, mode="reduced"):
    """np.linalg.qr: (Q, R) for modes 'reduced' (default) and 'complete'; R for mode 'r'."""
    out = QRFull(mode)(a)
    return out if mode == "r" else tuple(out)


# ---------------------------------------------------------------------- pinv
class MatrixPinv(Op):
    """The Moore-Penrose pseudo-inverse (np.linalg.pinv); hermitian=True for symmetric input."""

    __props__ = ("hermitian",)

    def __init__(self, hermitian=False):
        self.hermitian = bool(hermitian)

    def make_node(self, x):
        x = _matrix(x, "pinv")
        m, n = x.type.shape
        return Apply(self, [x], [TensorType(x.type.dtype, (n, m))()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        output_storage[0][0] = np.linalg.pinv(x, hermitian=self.hermitian).astype(
            node.outputs[0].type.dtype, copy=False)

    def infer_shape(self, fgraph, node, input_shapes):
        m, n = input_shapes[0]
        return [(n, m)]

    def L_op(self, inputs, outputs, output_grads):
        # Golub & Pereyra (1973), valid where the rank is locally constant:
        # dA+ = -A+ dA A+ + A+ A+^T dA^T (I - A A+) + (I - A+ A) dA^T A+^T A+

        (x,), (z,), (gz,) = inputs, outputs, output_grads
        x_z = dot(x, z)
        z_x = dot(z, x)
        grad = (-matrix_dot(z, gz.T, z)
                + matrix_dot(z, z.T, gz, identity_like(x_z) - x_z)
                + matrix_dot(identity_like(z_x) - z_x, gz, z.T, z)).T
        return [grad]


def pinv(x, hermitian=False):
    """np.linalg.pinv: the pseudo-inverse of the matrix x."""
    return MatrixPinv(hermitian)(x)


# ------------------------------------------------------------ small helpers
def trace(X, offset=0):
    """Sum of the diagonal of the matrix X (Theano's nlinalg.trace); has a gradient."""
    X = as_tensor_variable(X)
    if X.type.ndim != 2:
        raise TypeError(f"trace: expected a matrix, got {X} of type {X.type}")
    return math.sum(diagonal(X, offset))


def matrix_power(M, n):
    """np.linalg.matrix_power for an integer n >= 0 (repeated squaring; n < 0 inverts first)."""
    M = as_tensor_variable(M)
    n = int(n)
    if n < 0:
        M, n = matrix_inverse(M), -n
    if n == 0:
        return identity_like(M)
    result, base = None, M
    while n:
        if n & 1:
            result = base if result is None else matrix_dot(result, base)
        n >>= 1
        if n:
            base = matrix_dot(base, base)
    return result


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    """np.linalg.norm for vectors and matrices (ord None/'fro', 1, 2 for vectors, inf, -inf, 'nuc')."""
    x = as_tensor_variable(x)
    if axis is None and x.type.ndim <= 2:
        axis = tuple(range(x.type.ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    axis = tuple(axis)
    ax = axis if len(axis) > 1 else axis[0]
    a = math.abs(x)
    if len(axis) == 1:
        if ord is None or ord == 2:
            return math.sqrt(math.sum(math.sqr(a), axis=ax, keepdims=keepdims))
        if ord == np.inf:
            return math.max(a, axis=ax, keepdims=keepdims)
        if ord == -np.inf:
            return math.min(a, axis=ax, keepdims=keepdims)
        if ord == 0:
            return math.sum(math.neq(x, 0), axis=ax, keepdims=keepdims)
        if ord == 1:
            return math.sum(a, axis=ax, keepdims=keepdims)
        return math.pow(math.sum(math.pow(a, ord), axis=ax, keepdims=keepdims), 1.0 / ord)
    if len(axis) != 2:
        raise ValueError(f"norm: axis must name 1 or 2 axes, got {axis}")
    if ord is None or ord == "fro":
        return math.sqrt(math.sum(math.sqr(a), axis=axis, keepdims=keepdims))
    r0, r1 = axis
    if ord in (1, -1, np.inf, -np.inf) and not keepdims:
        if ord in (np.inf, -np.inf):
            r0, r1 = r1, r0
        red = math.max if ord > 0 else math.min
        s = math.sum(a, axis=r0)
        return red(s, axis=r1 - 1 if r1 > r0 else r1)
    if ord in ("nuc", 2, -2) and x.type.ndim == 2 and not keepdims:
        s = svd(x, compute_uv=False)
        return math.sum(s) if ord == "nuc" else (math.max(s) if ord == 2 else math.min(s))
    raise ValueError(f"norm: unsupported ord {ord!r} for axis {axis} (keepdims={keepdims})")


class Lstsq(Op):
    """np.linalg.lstsq: (x, residuals, rank, s) for the least-squares problem a x = b.

    The length of `residuals` depends on the values (empty unless a has full
    column rank and more rows than columns), as in NumPy.
    """

    __props__ = ("rcond",)

    def __init__(self, rcond=None):
        self.rcond = None if rcond is None else float(rcond)

    def make_node(self, a, b):
        a = _matrix(a, "lstsq")
        b = as_tensor_variable(b)
        if b.type.ndim not in (1, 2):
            raise TypeError(f"lstsq: b must be a vector or a matrix, got {b} of type {b.type}")
        dtype = np.result_type(a.type.dtype, _float_dtype(b.type.dtype)).name
        a, b = cast(a, dtype), cast(b, dtype)
        m, n = a.type.shape
        k = None if m is None or n is None else min(m, n)
        return Apply(self, [a, b], [TensorType(dtype, (n,) + b.type.shape[1:])(),
                                    TensorType(dtype, (None,))(), TensorType("int64", ())(),
                                    TensorType(dtype, (k,))()])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        if a.shape[0] != b.shape[0]:
            raise ValueError(f"lstsq: a has shape {a.shape} but b has shape {b.shape} "
                             f"({a.shape[0]} != {b.shape[0]})")
        x, res, rank, sv = np.linalg.lstsq(a, b, rcond=self.rcond)
        dtype = node.outputs[0].type.dtype
        output_storage[0][0] = np.asarray(x, dtype=dtype)
        output_storage[1][0] = np.asarray(res, dtype=dtype).reshape(-1)
        output_storage[2][0] = np.asarray(rank, dtype="int64")
        output_storage[3][0] = np.asarray(sv, dtype=dtype)
    # no infer_shape: the length of residuals depends on the values


def lstsq(a, b, rcond=None):
    """np.linalg.lstsq: [x, residuals, rank, s]; x is differentiable (as pinv(a) @ b)."""
    _, res, rank, sv = Lstsq(rcond)(a, b)
    a = _matrix(a, "lstsq")
    return [dot(pinv(a), b), res, rank, sv]


def tensorinv(a, ind=2):
    """np.linalg.tensorinv: the inverse of a w.r.t. tensordot over its first `ind` axes."""
    a = as_tensor_variable(a)
    if not 0 < ind < a.type.ndim:
        raise ValueError(f"tensorinv: ind must be between 1 and {a.type.ndim - 1}, got {ind}")
    dims = _dims(a)
    out_dims, in_dims = dims[:ind], dims[ind:]
    inv_m = matrix_inverse(reshape(a, [_prod(out_dims), _prod(in_dims)]))
    return reshape(inv_m, in_dims + out_dims)


def tensorsolve(a, b, axes=None):
    """np.linalg.tensorsolve: x with tensordot(a, x, x.ndim) = b."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if axes is not None:
        axes = [int(ax) % a.type.ndim for ax in axes]
        a = a.dimshuffle([d for d in range(a.type.ndim) if d not in axes] + axes)
    dims = _dims(a)
    out_dims, x_dims = dims[:b.type.ndim], dims[b.type.ndim:]
    m = reshape(a, [_prod(out_dims), _prod(x_dims)])
    x = slinalg.solve(m, reshape(b, [_prod(out_dims)]))
    return reshape(x, x_dims)


__all__ = ["MatrixInverse", "Det", "SLogDet", "Eig", "Eigh", "EighGrad", "SVD", "QRFull",
           "MatrixPinv", "matrix_inverse", "inv", "det", "slogdet", "eig", "eigh", "svd", "qr",
           "pinv", "trace", "matrix_dot", "matrix_power", "norm", "Lstsq", "lstsq", "tensorinv", "tensorsolve",
           "diag", "extract_diag", "alloc_diag", "AllocDiag", "ExtractDiag"]


# Back edge, imported last: slinalg takes names from this module at its top, so it may load only
# once they exist. A module object, used at call time (tensorsolve).
from graphcore.tensor import slinalg  # noqa: E402

# for the tensor core below: TensorVariable.trace
tensor_api.register(trace=trace)
