"""Linear algebra on matrices, SciPy flavour (Theano's `tensor.slinalg`).

cholesky, solve (assume_a, or Theano's A_structure), solve_triangular,
eigvalsh, expm, each with its gradient; `perform` calls scipy.linalg.
Gradients are those of the function `perform` computes: ops that read only
one triangle of a matrix (cholesky, symmetric solves, eigvalsh) give zero
gradient to the other triangle and twice-counted off-diagonal terms to the
one they read, which is what finite differences see.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from graphcore.graph.basic import Apply
from graphcore.graph.op import Op
from graphcore.tensor import math
from graphcore.tensor.basic import as_tensor_variable, cast, zeros
from graphcore.tensor.creation import eye, tril, triu
from graphcore.tensor.dot import dot, outer
from graphcore.tensor.extra_ops import alloc_diag, diagonal
from graphcore.tensor.join import concatenate
from graphcore.tensor.linalg_products import _dims, _prod
from graphcore.tensor.nlinalg import (_check_square, _eigh_tangent, _float_dtype, _matrix,
                                      _square_shape)
from graphcore.tensor.shape import reshape
from graphcore.tensor.type import TensorType


def _fold(g, lower):
    """Gradient of f(sym(A)) where sym reads the lower (upper) triangle of A, given grad_sym."""
    if lower:
        return np.tril(g) + np.triu(g, 1).T
    return np.triu(g) + np.tril(g, -1).T


def _sym_fold(g, lower):
    """Symbolic `_fold`: the triangle read gets g + g^T off the diagonal, g on it."""
    s = g + g.T
    return (tril(s) if lower else triu(s)) - alloc_diag(diagonal(g))


# ------------------------------------------------------------------ cholesky
class Cholesky(Op):
    """The Cholesky factor of a symmetric positive-definite matrix (lower by default).

    Only the triangle named by `lower` is read. A matrix that is not positive
    definite raises scipy's LinAlgError, or gives NaNs with on_error='nan'.
    """

    __props__ = ("lower", "on_error")

    def __init__(self, lower=True, on_error="raise"):
        if on_error not in ("raise", "nan"):
            raise ValueError(f"cholesky: on_error must be 'raise' or 'nan', got {on_error!r}")
        self.lower = bool(lower)
        self.on_error = on_error

    def make_node(self, x):
        x = _matrix(x, "cholesky", square=True)
        return Apply(self, [x], [TensorType(x.type.dtype, _square_shape(x))()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        _check_square("cholesky", x)
        dtype = node.outputs[0].type.dtype
        try:
            out = scipy.linalg.cholesky(x, lower=self.lower) if x.size else x.copy()
        except scipy.linalg.LinAlgError:
            if self.on_error == "raise":
                raise
            out = np.full(x.shape, np.nan)
        output_storage[0][0] = np.asarray(out, dtype=dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(input_shapes[0])]

    def L_op(self, inputs, outputs, output_grads):
        return [CholeskyGrad(self.lower)(inputs[0], outputs[0], output_grads[0])]

    def R_op(self, inputs, eval_points):
        # dL = L Phi(L^-1 dA L^-T) (Phi: lower triangle, halved diagonal), where dA is the
        # symmetric matrix made of the triangle of v that is read

        v = eval_points[0]
        if v is None:
            return [None]
        factor = self(inputs[0])
        L = factor if self.lower else factor.T
        dA = tril(v) + tril(v, -1).T if self.lower else triu(v) + triu(v, 1).T
        X = solve_triangular(L, dA, lower=True)  # L^-1 dA
        Y = solve_triangular(L, X.T, lower=True)  # L^-1 dA L^-T (symmetric)
        phi = tril(Y) - 0.5 * Y * eye(Y.shape[0], dtype=Y.type.dtype)
        dL = math.dot(L, phi)
        return [dL if self.lower else dL.T]


def cholesky(x, lower=True, on_error="raise"):
    """scipy.linalg.cholesky: L with L L^T = x (lower=True) or U with U^T U = x."""
    return Cholesky(lower, on_error)(x)


class CholeskyGrad(Op):
    """The gradient of cholesky (Murray 2016, "Differentiation of the Cholesky decomposition").

    With L the lower factor and Lbar its gradient: P = Phi(L^T Lbar) (lower
    triangle, halved diagonal), S = L^-T P L^-1; the matrix read is
    symmetric, so its read triangle gets S + S^T with the diagonal once.
    """

    __props__ = ("lower",)

    def __init__(self, lower=True):
        self.lower = bool(lower)

    def make_node(self, x, chol, g):
        x, chol, g = (as_tensor_variable(i) for i in (x, chol, g))
        return Apply(self, [x, chol, g], [TensorType(x.type.dtype, x.type.shape)()])

    def perform(self, node, inputs, output_storage):
        x, chol, g = inputs
        dtype = node.outputs[0].type.dtype
        if x.size == 0:
            output_storage[0][0] = np.zeros(x.shape, dtype=dtype)
            return
        L, Lbar = (chol, g) if self.lower else (chol.T, g.T)
        P = np.tril(L.T @ Lbar)
        P[np.diag_indices_from(P)] *= 0.5
        # S = L^-T P L^-1
        tmp = scipy.linalg.solve_triangular(L, P.T, lower=True, trans=1).T  # P L^-1
        S = scipy.linalg.solve_triangular(L, tmp, lower=True, trans=1)
        out = S + S.T
        out = np.tril(out) if self.lower else np.triu(out)
        out[np.diag_indices_from(out)] *= 0.5
        output_storage[0][0] = out.astype(dtype, copy=False)

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(input_shapes[0])]


# --------------------------------------------------------------------- solve
_STRUCTURES = {  # Theano's A_structure -> (assume_a, lower)
    "general": ("gen", False),
    "symmetric": ("sym", False),
    "lower_triangular": ("lower", True),
    "upper_triangular": ("upper", False),
}


def _solve_operands(who, a, b):
    a = _matrix(a, who, square=True)
    b = as_tensor_variable(b)
    if b.type.ndim not in (1, 2):
        raise TypeError(f"{who}: b must be a vector or a matrix, got {b} of type {b.type}")
    if np.dtype(b.type.dtype).kind == "c":
        raise TypeError(f"{who}: complex right-hand sides are not supported, got {b.type}")
    dtype = np.result_type(a.type.dtype, _float_dtype(b.type.dtype)).name
    a, b = cast(a, dtype), cast(b, dtype)
    n, m = a.type.shape[0] if a.type.shape[0] is not None else a.type.shape[1], b.type.shape[0]
    if n is not None and m is not None and n != m:
        raise ValueError(f"{who}: a of static shape {a.type.shape} and b of static shape "
                         f"{b.type.shape} do not match ({n} != {m})")
    return a, b


def _check_solve(who, a, b):
    _check_square(who, a)
    if b.shape[0] != a.shape[0]:
        raise ValueError(f"{who}: a has shape {a.shape} but b has shape {b.shape} "
                         f"({a.shape[0]} != {b.shape[0]})")


class _SolveOp(Op):
    """Solve and SolveTriangular: a square matrix a and a vector or matrix b in, x of b's shape out."""

    def make_node(self, a, b):
        a, b = _solve_operands(self._who, a, b)
        n = a.type.shape[1]
        return Apply(self, [a, b], [TensorType(a.type.dtype, (n,) + b.type.shape[1:])()])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        _check_solve(self._who, a, b)
        dtype = node.outputs[0].type.dtype
        if a.size == 0:
            output_storage[0][0] = np.zeros(b.shape, dtype=dtype)
            return
        output_storage[0][0] = np.asarray(self._solve(a, b), dtype=dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        sa, sb = input_shapes
        return [(sa[1],) + tuple(sb[1:])]


class Solve(_SolveOp):
    """x with a x = b, for a square matrix a (scipy.linalg.solve).

    assume_a: 'gen' (general), 'sym' / 'pos' (symmetric / positive definite:
    only the triangle named by `lower` is read), or 'lower' / 'upper'
    (triangular, solved by substitution). Theano's A_structure ('general',
    'symmetric', 'lower_triangular', 'upper_triangular') is accepted too.
    """

    __props__ = ("assume_a", "lower")
    _who = "solve"

    def __init__(self, A_structure=None, lower=False, overwrite_A=False, overwrite_b=False,
                 assume_a=None):
        if A_structure is not None:
            if A_structure not in _STRUCTURES:
                raise ValueError(f"Solve: A_structure must be one of {sorted(_STRUCTURES)}, "
                                 f"got {A_structure!r}")
            assume_a, default_lower = _STRUCTURES[A_structure]
            if assume_a in ("lower", "upper"):
                lower = default_lower
        assume_a = assume_a or "gen"
        aliases = {"general": "gen", "symmetric": "sym", "positive definite": "pos",
                   "lower triangular": "lower", "upper triangular": "upper", "her": "sym"}
        assume_a = aliases.get(assume_a, assume_a)
        if assume_a not in ("gen", "sym", "pos", "lower", "upper"):
            raise ValueError(f"solve: assume_a must be 'gen', 'sym', 'pos', 'lower' or 'upper', "
                             f"got {assume_a!r}")
        if assume_a == "lower":
            lower = True
        elif assume_a == "upper":
            lower = False
        self.assume_a = assume_a
        self.lower = bool(lower)

    def _solve(self, a, b):
        if self.assume_a in ("lower", "upper"):
            return scipy.linalg.solve_triangular(a, b, lower=self.lower)
        return scipy.linalg.solve(a, b, assume_a=self.assume_a, lower=self.lower)

    def L_op(self, inputs, outputs, output_grads):
        a, b = inputs
        (x,), (gx,) = outputs, output_grads
        if self.assume_a in ("lower", "upper"):
            gb = solve_triangular(a, gx, lower=self.lower, trans=1)
        elif self.assume_a == "gen":
            gb = solve(a.T, gx)
        else:  # symmetric: the matrix solved with is symmetric, a^T = a
            gb = Solve(assume_a=self.assume_a, lower=self.lower)(a, gx)
        ga = -outer(gb, x) if x.type.ndim == 1 else -dot(gb, x.T)
        if self.assume_a in ("lower", "upper"):
            ga = tril(ga) if self.lower else triu(ga)
        elif self.assume_a in ("sym", "pos"):
            ga = _sym_fold(ga, self.lower)
        return [ga, gb]


def solve(a, b, assume_a="gen", lower=False, check_finite=True, A_structure=None, **kwargs):
    """scipy.linalg.solve: x with a @ x = b (b a vector or a matrix)."""
    return Solve(A_structure=A_structure, lower=lower, assume_a=assume_a)(a, b)


solve_lower_triangular = Solve(A_structure="lower_triangular", lower=True)
solve_upper_triangular = Solve(A_structure="upper_triangular", lower=False)
solve_symmetric = Solve(A_structure="symmetric")


class SolveTriangular(_SolveOp):
    """x with a x = b (trans=0), a^T x = b (trans=1 or 'T') for triangular a (substitution)."""

    __props__ = ("lower", "trans", "unit_diagonal")
    _who = "solve_triangular"

    def __init__(self, lower=False, trans=0, unit_diagonal=False):
        trans = {"N": 0, "T": 1, "C": 1, 0: 0, 1: 1, 2: 1}.get(trans, trans)
        if trans not in (0, 1):
            raise ValueError(f"solve_triangular: trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}")
        self.lower = bool(lower)
        self.trans = trans
        self.unit_diagonal = bool(unit_diagonal)

    def _solve(self, a, b):
        return scipy.linalg.solve_triangular(a, b, trans=self.trans, lower=self.lower,
                                             unit_diagonal=self.unit_diagonal)

    def L_op(self, inputs, outputs, output_grads):
        a, b = inputs
        (x,), (gx,) = outputs, output_grads
        gb = SolveTriangular(self.lower, 1 - self.trans, self.unit_diagonal)(a, gx)
        # op(a) x = b  =>  grad op(a) = -gb x^T;  op(a) = a or a^T
        ga = -outer(gb, x) if x.type.ndim == 1 else -dot(gb, x.T)
        if self.trans:
            ga = ga.T
        ga = tril(ga, -1 if self.unit_diagonal else 0) if self.lower else \
            triu(ga, 1 if self.unit_diagonal else 0)
        return [ga, gb]


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, check_finite=True):
    """scipy.linalg.solve_triangular: x with a x = b (or a^T x = b) for triangular a."""
    return SolveTriangular(lower, trans, unit_diagonal)(a, b)


def cho_solve(c_and_lower, b, check_finite=True):
    """scipy.linalg.cho_solve: x with A x = b, given (c, lower) where c is A's Cholesky factor."""
    c, lower = c_and_lower
    y = solve_triangular(c, b, lower=lower, trans=0 if lower else 1)
    return solve_triangular(c, y, lower=lower, trans=1 if lower else 0)


def block_diag(*matrices):
    """scipy.linalg.block_diag: the matrices along the diagonal of a larger one, zeros elsewhere."""
    if not matrices:
        raise ValueError("block_diag: needs at least one matrix")
    mats = [as_tensor_variable(m) for m in matrices]
    for i, m in enumerate(mats):
        if m.type.ndim != 2:
            raise TypeError(f"block_diag: argument {i} must be a matrix, got {m.type}")
    dtype = np.result_type(*[m.type.dtype for m in mats]).name
    mats = [cast(m, dtype) for m in mats]
    if len(mats) == 1:
        return mats[0]
    dims = [_dims(m) for m in mats]
    rows = []
    for i, m in enumerate(mats):
        parts = [zeros((dims[i][0], dims[j][1]), dtype=dtype) if j != i else m
                 for j in range(len(mats))]
        rows.append(concatenate(parts, axis=1))
    return concatenate(rows, axis=0)


# ------------------------------------------------------------------ eigvalsh
class Eigvalsh(Op):
    """Eigenvalues (ascending) of symmetric a, or of the generalized problem a v = w b v.

    scipy.linalg.eigh(a, b, lower, eigvals_only=True); b positive definite.
    """

    __props__ = ("lower",)

    def __init__(self, lower=True):
        self.lower = bool(lower)

    def make_node(self, a, b=None):
        a = _matrix(a, "eigvalsh", square=True)
        inputs = [a]
        if b is not None:
            b = _matrix(b, "eigvalsh", square=True)
            dtype = np.result_type(a.type.dtype, b.type.dtype).name
            a, b = cast(a, dtype), cast(b, dtype)
            inputs = [a, b]
        n = _square_shape(a)[0]
        return Apply(self, inputs, [TensorType(a.type.dtype, (n,))()])

    def perform(self, node, inputs, output_storage):
        a = inputs[0]
        b = inputs[1] if len(inputs) > 1 else None
        _check_square("eigvalsh", a)
        if b is not None and b.shape != a.shape:
            raise ValueError(f"eigvalsh: a has shape {a.shape}, b has shape {b.shape}")
        w = scipy.linalg.eigh(a, b, lower=self.lower, eigvals_only=True) if a.size \
            else np.zeros(0)
        output_storage[0][0] = np.asarray(w, dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [(input_shapes[0][0],)]

    def grad(self, inputs, gz):
        outs = EigvalshGrad(self.lower)(*inputs, gz[0])
        return list(outs) if len(inputs) > 1 else [outs]

    def R_op(self, inputs, eval_points):
        # dw_i = q_i^T dA q_i (the standard problem; the generalized one is not implemented)

        if len(inputs) > 1:
            raise NotImplementedError("eigvalsh(a, b) has no R_op")
        if eval_points[0] is None:
            return [None]
        return [_eigh_tangent(inputs[0], eval_points[0], "L" if self.lower else "U",
                              values_only=True)]


class EigvalshGrad(Op):
    """Gradient of eigvalsh: gA = V diag(gw) V^T, gB = -V diag(gw w) V^T, folded to one triangle."""

    __props__ = ("lower",)

    def __init__(self, lower=True):
        self.lower = bool(lower)

    def make_node(self, *inputs):
        inputs = [as_tensor_variable(i) for i in inputs]
        mats = inputs[:-1]
        return Apply(self, inputs, [TensorType(m.type.dtype, m.type.shape)() for m in mats])

    def perform(self, node, inputs, output_storage):
        *mats, gw = inputs
        a = mats[0]
        b = mats[1] if len(mats) > 1 else None
        w, v = scipy.linalg.eigh(a, b, lower=self.lower)
        dtype = node.outputs[0].type.dtype
        ga = v @ np.diag(gw) @ v.T
        output_storage[0][0] = _fold(ga, self.lower).astype(dtype, copy=False)
        if b is not None:
            gb = -v @ np.diag(gw * w) @ v.T
            output_storage[1][0] = _fold(gb, self.lower).astype(dtype, copy=False)

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(s) for s in input_shapes[:-1]]


def eigvalsh(a, b=None, lower=True):
    """Eigenvalues of the symmetric matrix a (generalized with b), ascending."""
    return Eigvalsh(lower)(a, b) if b is not None else Eigvalsh(lower)(a)


# ---------------------------------------------------------------------- expm
class Expm(Op):
    """The matrix exponential (scipy.linalg.expm)."""

    def make_node(self, a):
        a = _matrix(a, "expm", square=True)
        return Apply(self, [a], [TensorType(a.type.dtype, _square_shape(a))()])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        _check_square("expm", a)
        output_storage[0][0] = np.asarray(scipy.linalg.expm(a) if a.size else a.copy(),
                                          dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(input_shapes[0])]

    def grad(self, inputs, gz):
        return [ExpmGrad()(inputs[0], gz[0])]

    def R_op(self, inputs, eval_points):
        # d expm(A)[V] is the top-right block of expm([[A, V], [0, A]]) (Van Loan, 1978)

        a, v = inputs[0], eval_points[0]
        if v is None:
            return [None]
        v = math.cast(v, a.type.dtype) if v.type.dtype != a.type.dtype else v
        n = a.shape[0]
        big = concatenate([concatenate([a, v], axis=1),
                           concatenate([math.zeros_like(a), a], axis=1)], axis=0)
        return [self(big)[:n, n:]]


class ExpmGrad(Op):
    """Gradient of expm: the Frechet derivative of expm at A^T in the direction G."""

    def make_node(self, a, g):
        a, g = as_tensor_variable(a), as_tensor_variable(g)
        return Apply(self, [a, g], [TensorType(a.type.dtype, a.type.shape)()])

    def perform(self, node, inputs, output_storage):
        a, g = inputs
        dtype = node.outputs[0].type.dtype
        if a.size == 0:
            output_storage[0][0] = np.zeros(a.shape, dtype=dtype)
            return
        out = scipy.linalg.expm_frechet(a.T, g, compute_expm=False)
        output_storage[0][0] = np.asarray(out, dtype=dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(input_shapes[0])]


expm = Expm()


def kron(a, b):
    """np.kron of two tensors of up to 2 dimensions (Theano's slinalg.kron); has a gradient."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.type.ndim == 0 or b.type.ndim == 0:
        return math.mul(a, b)
    nd = max(a.type.ndim, b.type.ndim)
    if nd > 2:
        raise TypeError(f"kron: only inputs of up to 2 dimensions are supported, got {a.type} "
                        f"and {b.type}")
    if a.type.ndim < nd:
        a = a.dimshuffle("x", 0)
    if b.type.ndim < nd:
        b = b.dimshuffle("x", 0)
    da, db = _dims(a), _dims(b)
    # out[i*p + k, j*q + l] = a[i, j] * b[k, l]
    pa = [d for i in range(nd) for d in (i, "x")]
    pb = [d for i in range(nd) for d in ("x", i)]
    prod = math.mul(a.dimshuffle(pa), b.dimshuffle(pb))
    return reshape(prod, [_prod([x, y]) for x, y in zip(da, db)])

__all__ = ["Cholesky", "CholeskyGrad", "Solve", "SolveTriangular", "Eigvalsh", "EigvalshGrad",
           "Expm", "ExpmGrad", "cholesky", "solve", "solve_triangular", "solve_lower_triangular",
           "solve_upper_triangular", "solve_symmetric", "eigvalsh", "expm", "kron", "cho_solve",
           "block_diag"]
