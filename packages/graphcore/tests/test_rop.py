"""graphcore.rop.Rop (forward mode through each op's R_op, an op's own L_op twice where it has
none) against central finite differences, and the R_ops added for it (cumprod, cholesky,
eigh, eigvalsh, expm)."""

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode
from graphcore.graph.basic import Apply
from graphcore.graph.op import Op
from graphcore.rop import Rop, node_rop
from graphcore.tensor.cumulative import CumprodGrad, CumprodTangent
from graphcore.testing import verify_grad

MODE = Mode(linker="python", optimizer="None")  # the reference semantics, no rewrites


def fn(inputs, outputs):
    return theano.function(inputs, outputs, mode=MODE, on_unused_input="ignore")


def directional_fd(f, xs, vs, eps=1e-6):
    plus = f(*[x + eps * v for x, v in zip(xs, vs)])
    minus = f(*[x - eps * v for x, v in zip(xs, vs)])
    if isinstance(plus, list):
        return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]
    return (plus - minus) / (2 * eps)


def check_rop(build, shapes, values=None, seed=0):
    rng = np.random.default_rng(seed)
    xs = [T.tensor("float64", shape=(None,) * len(s), name=f"x{k}") for k, s in enumerate(shapes)]
    vs = [x.type() for x in xs]
    y = build(*xs)
    xv = values or [rng.normal(size=s) for s in shapes]
    vv = [rng.normal(size=s) for s in shapes]
    got = fn(xs + vs, Rop(y, xs, vs))(*xv, *vv)
    want = directional_fd(fn(xs, y), xv, vv)
    for g, w in zip(got, want) if isinstance(got, list) else [(got, want)]:
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    return got


CASES = {
    # ops with an R_op
    "dot": (lambda W, x: T.tanh(T.dot(W, x)), [(3, 4), (4,)]),
    "subtensor": (lambda x: x[1:, ::2], [(4, 5)]),
    "join": (lambda x: T.concatenate([x, x ** 2], axis=1), [(3, 2)]),
    "reshape_dimshuffle": (lambda x: T.reshape(x, (6,)).dimshuffle("x", 0), [(2, 3)]),
    "advanced": (lambda x: x[[0, 2, 2]], [(4, 3)]),
    "inc_set_subtensor": (lambda x: T.set_subtensor(x[1:], 0.0) + T.inc_subtensor(x[:2], x[1:3]),
                          [(4,)]),
    "cumsum": (lambda x: T.cumsum(x, axis=0), [(4, 3)]),
    "cumprod": (lambda x: T.cumprod(x, axis=1), [(3, 4)]),
    "matrix_inverse": (lambda x: T.nlinalg.matrix_inverse(x + 3 * T.eye(3)), [(3, 3)]),
    "softmax": (lambda x: T.nnet.softmax(x), [(3, 4)]),
    "cholesky": (lambda x: T.slinalg.cholesky(T.dot(x, x.T) + 3 * T.eye(3)), [(3, 3)]),
    "cholesky_upper": (lambda x: T.slinalg.cholesky(x * x + 3 * T.eye(3), lower=False), [(3, 3)]),
    "eigh": (lambda x: list(T.nlinalg.eigh(T.dot(x, x.T))), [(3, 3)]),
    "eigvalsh": (lambda x: T.slinalg.eigvalsh(x + x.T), [(3, 3)]),
    "expm": (lambda x: T.slinalg.expm(0.3 * x), [(3, 3)]),
    # ops without one: their L_op, transposed
    "elemwise_reduce": (lambda x, y: T.sum(T.exp(x) * y, axis=0) / T.max(y), [(3, 2), (3, 2)]),
    "sort": (lambda x: T.sort(x), [(5,)]),
    "choose": (lambda x, y: T.choose(np.array([0, 1, 0]), [x, y]), [(3,), (3,)]),
    "det_solve": (lambda x: T.nlinalg.det(x) * T.slinalg.solve(x + 3 * T.eye(3), T.ones(3)),
                  [(3, 3)]),
    "pool": (lambda x: T.signal.pool.pool_2d(x, (2, 2), ignore_border=True), [(1, 1, 4, 4)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rop_matches_finite_differences(name):
    build, shapes = CASES[name]
    check_rop(build, shapes)


def test_cumprod_tangent_with_zeros():
    x = np.array([[2.0, 0.0, 3.0, 0.0], [1.5, -1.0, 0.5, 2.0]])
    check_rop(lambda a: T.cumprod(a, axis=1), [x.shape], values=[x])
    # the new L_ops: CumprodGrad is linear in gz and CumprodTangent in v, adjoint to each other
    verify_grad(lambda g: CumprodGrad(1)(x, g), [np.ones_like(x)], mode=MODE,
                rng=np.random.default_rng(0))
    verify_grad(lambda v: CumprodTangent(1)(x, v), [np.ones_like(x)], mode=MODE,
                rng=np.random.default_rng(0))
    # the tangent is the adjoint of the gradient: <u, J v> == <J^T u, v>
    a, v, u = T.dmatrix(), T.dmatrix(), T.dmatrix()
    rng = np.random.default_rng(1)
    vv, uv = rng.normal(size=x.shape), rng.normal(size=x.shape)
    y = T.cumprod(a, axis=1)
    jv, ju = fn([a, v, u], [Rop(y, a, v), T.Lop(y, a, u)])(x, vv, uv)
    np.testing.assert_allclose(np.sum(uv * jv), np.sum(ju * vv))


def test_rop_agrees_with_the_jacobian_and_lop():
    import graphcore
    import graphcore.gradient

    assert T.Rop is Rop and graphcore.gradient.Rop is Rop and graphcore.Rop is Rop
    W, x, v, u = T.dmatrix("W"), T.dvector("x"), T.dvector("v"), T.dvector("u")
    y = T.nnet.sigmoid(T.dot(W, T.tanh(x)))
    rng = np.random.default_rng(2)
    Wv, xv, vv, uv = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=4), \
        rng.normal(size=3)
    jv, J, lop = fn([W, x, v, u], [Rop(y, x, v), T.jacobian(y, x), T.Lop(y, x, u)])(
        Wv, xv, vv, uv)
    np.testing.assert_allclose(jv, J @ vv)
    np.testing.assert_allclose(lop, uv @ J)


class _OnlyROp(Op):
    """2 x, with an R_op but no gradient: forward mode must use the R_op."""

    __props__ = ()

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = 2 * inputs[0]

    def R_op(self, inputs, eval_points):
        return [None if eval_points[0] is None else 2 * eval_points[0]]


def test_r_op_is_used_where_defined_and_l_op_otherwise():
    x, v = T.dvector(), T.dvector()
    y = T.exp(_OnlyROp()(x))  # exp has no R_op: its L_op is transposed
    xv, vv = np.array([0.1, -0.2]), np.array([1.0, 3.0])
    np.testing.assert_allclose(fn([x, v], Rop(y, x, v))(xv, vv), 2 * np.exp(2 * xv) * vv)
    node = y.owner.inputs[0].owner
    assert node_rop(node, [v])[0].owner.inputs  # the op's own R_op answered


def test_rop_lists_integers_and_errors():
    x, y, v, w = T.dvector("x"), T.dvector("y"), T.dvector("v"), T.dvector("w")
    f = [x * y, T.sum(x) + T.cast(T.argmax(y), "float64")]
    r = Rop(f, [x, y], [v, w])
    assert isinstance(r, list) and len(r) == 2
    xv, yv, vv, wv = np.array([1.0, 2.0]), np.array([3.0, -1.0]), np.array([0.5, 1.0]), \
        np.array([2.0, 0.0])
    got = fn([x, y, v, w], r)(xv, yv, vv, wv)
    np.testing.assert_allclose(got[0], vv * yv + xv * wv)
    np.testing.assert_allclose(got[1], vv.sum())  # argmax is piecewise constant
    with pytest.raises(TypeError, match=r"eval_points\[0\] has 2 dimensions"):
        Rop(x * 2, x, T.dmatrix())
    with pytest.raises(ValueError, match="2 wrt variables but 1 eval_points"):
        Rop(x * y, [x, y], [v])
    z = T.dvector("z")
    with pytest.raises(Exception, match="does not depend"):
        Rop(z * 2, x, v)
    zero = Rop(z * 2, x, v, disconnected_outputs="ignore")
    np.testing.assert_allclose(fn([z, v], zero)(np.ones(3), np.ones(2)), np.zeros(3))
    assert Rop(z * 2, x, v, disconnected_outputs="ignore", return_disconnected="None") is None
