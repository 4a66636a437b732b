"""graphopt's scan rewrites: invariant and per-sequence work leaves the loop, unread outputs go."""

import numpy as np

import graphcore as theano
import graphcore.tensor as T
from graphcore.graph.traversal import io_toposort
from graphcore.scan import Scan, scan
from graphcore.tensor.dot import Dot

RNG = np.random.default_rng(7)


def _scans(f):
    return [n for n in f.maker.fgraph.toposort() if isinstance(n.op, Scan)]


def _inner_ops(node):
    return [n.op for n in io_toposort(node.op.inner_inputs, node.op.inner_outputs)]


def _rnn():
    X = T.dtensor3("X")
    W, U = T.dmatrices("W", "U")
    b = T.dvector("b")
    h0 = T.dmatrix("h0")
    hs, _ = scan(lambda x_t, h, W, U, b: T.tanh(T.dot(x_t, W) + T.dot(h, U) + b),
                 sequences=X, outputs_info=h0, non_sequences=[W, U, b])
    return [X, W, U, b, h0], hs


def _numpy_rnn(x, w, u, b, h):
    out = []
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ w + h @ u + b)
        out.append(h)
    return np.array(out)


def test_input_projection_leaves_the_loop():
    inputs, hs = _rnn()
    f = theano.function(inputs, hs)
    (node,) = _scans(f)
    dots = [op for op in _inner_ops(node) if isinstance(op, Dot)]
    assert len(dots) == 1  # only h @ U stays in the loop; x_t @ W is one product over all steps
    vals = [RNG.normal(size=(5, 2, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=(4, 4)) * 0.4,
            RNG.normal(size=4), RNG.normal(size=(2, 4))]
    np.testing.assert_allclose(f(*vals), _numpy_rnn(*vals), rtol=1e-10)
    unopt = theano.function(inputs, hs, mode=theano.Mode(optimizer=None))
    (plain,) = _scans(unopt)
    assert len([op for op in _inner_ops(plain) if isinstance(op, Dot)]) == 2


def test_invariant_expression_computed_once():
    x = T.dvector("x")
    A = T.dmatrix("A")
    out, _ = scan(lambda x_t, acc, A: acc + x_t * T.exp(A).sum(), sequences=x,
                  outputs_info=T.constant(0.0), non_sequences=A)
    f = theano.function([x, A], out)
    (node,) = _scans(f)
    names = [type(op).__name__ for op in _inner_ops(node)]
    assert "Reduce" not in " ".join(names) and not any("Sum" in str(op) for op in _inner_ops(node))
    av = RNG.normal(size=(2, 2))
    np.testing.assert_allclose(f(np.array([1.0, 2.0]), av), np.cumsum([1.0, 2.0]) * np.exp(av).sum())


def test_unread_map_output_and_state_are_dropped():
    x = T.dvector("x")

    def step(x_t, a, b):
        return a + x_t, b * 2.0, x_t ** 3  # b and x**3 are never read below

    (a, b, cubes), _ = scan(step, sequences=x, outputs_info=[T.constant(0.0), T.constant(1.0), None])
    f = theano.function([x], a)
    (node,) = _scans(f)
    assert node.op.info.n_states == 1 and node.op.info.n_nitsot == 0
    np.testing.assert_allclose(f(np.array([1.0, 2.0, 3.0])), [1.0, 3.0, 6.0])


def test_rnn_gradient_still_matches_after_rewrites():
    inputs, hs = _rnn()
    W, U = inputs[1], inputs[2]
    grads = theano.grad(hs[-1].sum(), [W, U])
    vals = [RNG.normal(size=(4, 2, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=(4, 4)) * 0.4,
            RNG.normal(size=4), RNG.normal(size=(2, 4))]
    fast = theano.function(inputs, grads)(*vals)
    plain = theano.function(inputs, grads, mode=theano.Mode(linker="python", optimizer=None))(*vals)
    for a, b in zip(fast, plain):
        np.testing.assert_allclose(a, b, rtol=1e-9)


def test_the_step_runs_on_the_function_s_backend():
    inputs, hs = _rnn()
    for backend in ("python", "cpu"):
        f = theano.function(inputs, hs, mode=theano.Mode(linker=backend))
        (node,) = _scans(f)
        assert node.op.fn.maker.backend.name == backend
    x = T.dvector("x")
    doubled, _ = scan(lambda v: v * 2.0, sequences=x, mode=theano.Mode(linker="python"))
    f = theano.function([x], doubled, mode=theano.Mode(linker="cpu"))
    (node,) = _scans(f)
    assert node.op.fn.maker.backend.name == "python"  # scan(mode=) wins
    np.testing.assert_allclose(f(np.array([1.0, 2.0])), [2.0, 4.0])


def test_state_read_only_at_the_end_keeps_no_buffer():
    inputs, hs = _rnn()
    f = theano.function(inputs, hs[-1])
    (node,) = _scans(f)
    assert node.op.info.keep_all == (False,)
    assert node.outputs[0].type.ndim == 2  # the last state itself, not a (steps, batch, hidden) buffer
    vals = [RNG.normal(size=(5, 2, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=(4, 4)) * 0.4,
            RNG.normal(size=4), RNG.normal(size=(2, 4))]
    np.testing.assert_allclose(f(*vals), _numpy_rnn(*vals)[-1], rtol=1e-10)
    both = theano.function(inputs, [hs[-1], hs[0]])
    (node,) = _scans(both)
    assert node.op.info.keep_all == (True,)  # hs[0] needs the buffer
    x = T.dvector("x")
    total, _ = theano.reduce(lambda v, acc: acc + v, x, T.constant(0.0))
    f = theano.function([x], total)
    assert not any(_scans(f)[0].op.info.keep_all)  # carried alone, or summed after the loop
    assert f(np.array([1.0, 2.0, 4.0])) == 7.0


def test_backward_loop_carries_its_pending_gradient_without_a_buffer():
    inputs, hs = _rnn()
    W, U = inputs[1], inputs[2]
    f = theano.function(inputs, theano.grad(hs[-1].sum(), [W, U]))
    backward = [n for n in _scans(f) if "grad_of" in str(n.op)]
    assert len(backward) == 1 and not any(backward[0].op.info.keep_all)


def test_hoisted_weight_gradients_match_and_survive_zero_steps():
    inputs, hs = _rnn()
    W, U, b, h0 = inputs[1], inputs[2], inputs[3], inputs[4]
    grads = theano.grad((hs ** 2).sum(), [W, U, b, h0])
    f = theano.function(inputs, grads)
    (backward,) = [n for n in _scans(f) if "grad_of" in str(n.op)]
    assert len([op for op in _inner_ops(backward) if isinstance(op, Dot)]) == 1
    vals = [RNG.normal(size=(6, 3, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=(4, 4)) * 0.4,
            RNG.normal(size=4), RNG.normal(size=(3, 4))]
    plain = theano.function(inputs, grads, mode=theano.Mode(linker="python", optimizer=None))
    for a, b_ in zip(f(*vals), plain(*vals)):
        np.testing.assert_allclose(a, b_, rtol=1e-9)
    empty = [np.zeros((0, 3, 3))] + vals[1:]
    for a in f(*empty):
        np.testing.assert_array_equal(a, 0.0)
