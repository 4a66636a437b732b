"""graphopt's scan_merge: independent loops with the same number of steps run as one loop."""

import numpy as np

import graphcore as theano
import graphcore.tensor as T
from graphcore.ifelse import ifelse
from graphcore.scan import Scan, scan
from graphcore.scan_module import until
from graphcore.testing import parametrize_backends, verify_grad

RNG = np.random.default_rng(11)


def _fn(inputs, outputs, backend=None, **kw):
    mode = theano.Mode(linker=backend) if backend else None
    return theano.function(inputs, outputs, mode=mode, **kw)


def _scans(f):
    return [n for n in f.maker.fgraph.toposort() if isinstance(n.op, Scan)]


def _rnn_and_stats(x, W, h0):
    hs, _ = scan(lambda x_t, h, W: T.tanh(T.dot(h, W) + x_t), sequences=x, outputs_info=h0,
                 non_sequences=W)
    sq, _ = scan(lambda x_t: (x_t ** 2).sum(), sequences=x)
    run, _ = scan(lambda x_t, a: a * 0.5 + T.exp(x_t), sequences=x,
                  outputs_info=T.zeros_like(x[0]))
    return hs, sq, run


def _numpy_rnn_and_stats(x, w, h):
    hs, run, a = [], [], np.zeros_like(x[0])
    for t in range(x.shape[0]):
        h = np.tanh(h @ w + x[t])
        hs.append(h)
        a = a * 0.5 + np.exp(x[t])
        run.append(a)
    return np.array(hs), (x ** 2).sum(axis=1), np.array(run)


@parametrize_backends()
def test_loops_over_one_sequence_share_one_loop(backend):
    x, W, h0 = T.dmatrix("x"), T.dmatrix("W"), T.dvector("h0")
    outs = _rnn_and_stats(x, W, h0)
    f = _fn([x, W, h0], list(outs), backend)
    (node,) = _scans(f)
    # the three loops' states and per-step outputs are one loop's outputs
    assert node.op.info.n_states + node.op.info.n_nitsot >= 3
    _, seqs, _, _ = node.op.split_inputs(node.inputs)
    assert [s.name for s in seqs].count("x") == 1  # x is passed once (exp(x) is hoisted)
    vals = [RNG.normal(size=(6, 3)), RNG.normal(size=(3, 3)) * 0.5, RNG.normal(size=3)]
    for got, want in zip(f(*vals), _numpy_rnn_and_stats(*vals)):
        np.testing.assert_allclose(got, want, rtol=1e-10)
    plain = theano.function([x, W, h0], list(outs),
                            mode=theano.Mode(linker=backend).excluding("scan"))
    assert len(_scans(plain)) == 3
    for got, want in zip(plain(*vals), _numpy_rnn_and_stats(*vals)):
        np.testing.assert_allclose(got, want, rtol=1e-10)


@parametrize_backends()
def test_merged_loop_zero_steps_and_last_values(backend):
    x, W, h0 = T.dmatrix("x"), T.dmatrix("W"), T.dvector("h0")
    hs, sq, run = _rnn_and_stats(x, W, h0)
    f = _fn([x, W, h0], [hs[-1], sq, run[-1]], backend)
    assert len(_scans(f)) == 1
    vals = [RNG.normal(size=(4, 2)), RNG.normal(size=(2, 2)), RNG.normal(size=2)]
    want = _numpy_rnn_and_stats(*vals)
    got = f(*vals)
    np.testing.assert_allclose(got[0], want[0][-1], rtol=1e-10)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-10)
    np.testing.assert_allclose(got[2], want[2][-1], rtol=1e-10)
    f0 = _fn([x, W, h0], [hs, sq], backend)
    assert len(_scans(f0)) == 1
    out = f0(np.zeros((0, 2)), vals[1], vals[2])
    assert out[0].shape == (0, 2) and out[1].shape == (0,)


def test_loops_with_taps_and_non_sequences_merge():
    x = T.dvector("x")
    c = T.dscalar("c")
    fib, _ = scan(lambda a, b, c: a + b * c, outputs_info=dict(initial=x[:2], taps=[-2, -1]),
                  non_sequences=c, n_steps=x.shape[0])
    scaled, _ = scan(lambda x_t, c: x_t * c, sequences=x, non_sequences=c)
    f = theano.function([x, c], [fib, scaled])
    (node,) = _scans(f)
    assert node.op.info.n_nonseqs == 1  # c passed once
    xv = RNG.normal(size=5)
    want = [xv[0], xv[1]]
    for _ in range(5):
        want.append(want[-2] + want[-1] * 0.7)
    got = f(xv, 0.7)
    np.testing.assert_allclose(got[0], want[2:], rtol=1e-12)
    np.testing.assert_allclose(got[1], xv * 0.7, rtol=1e-12)


def test_dependent_loops_stay_apart():
    x = T.dvector("x")
    cum, _ = scan(lambda x_t, a: a + x_t, sequences=x, outputs_info=T.constant(0.0))
    # the second loop reads the first's results: it cannot run in the same loop
    sq, _ = scan(lambda c_t, x_t: c_t * x_t, sequences=[cum, x])
    f = theano.function([x], sq)
    assert len(_scans(f)) == 2
    xv = RNG.normal(size=6)
    np.testing.assert_allclose(f(xv), np.cumsum(xv) * xv, rtol=1e-12)


def test_different_lengths_and_until_stay_apart():
    x, y = T.dvector("x"), T.dvector("y")
    a, _ = scan(lambda x_t: x_t * 2, sequences=x)
    b, _ = scan(lambda y_t: y_t + 1, sequences=y)  # y's length may differ from x's
    c, _ = scan(lambda x_t: (x_t * 3, until(x_t > 0.5)), sequences=x)
    f = theano.function([x, y], [a, b, c])
    assert len(_scans(f)) == 3
    xv, yv = np.array([0.1, 0.2, 0.9, 0.3]), np.arange(3.0)
    got = f(xv, yv)
    np.testing.assert_allclose(got[0], xv * 2)
    np.testing.assert_allclose(got[1], yv + 1)
    np.testing.assert_allclose(got[2], xv[:3] * 3)


def test_loop_needed_by_one_branch_only_is_not_merged():
    x = T.dvector("x")
    flag = T.iscalar("flag")
    a, _ = scan(lambda x_t: x_t * 2, sequences=x)
    b, _ = scan(lambda x_t: T.exp(x_t), sequences=x)
    out = ifelse(T.gt(flag, 0), b.sum(), T.constant(0.0, dtype="float64"))
    f = theano.function([x, flag], [a, out])
    assert len(_scans(f)) == 2  # b's loop runs only when the branch reading it is taken
    xv = RNG.normal(size=4)
    got = f(xv, 1)
    np.testing.assert_allclose(got[0], xv * 2)
    np.testing.assert_allclose(got[1], np.exp(xv).sum())
    assert f(xv, 0)[1] == 0.0


def test_gradient_through_merged_loops():
    def cost(x, W, h0):
        hs, sq, run = _rnn_and_stats(x, W, h0)
        return hs.sum() + sq.sum() * 0.1 + run[-1].sum()

    x, W, h0 = T.dmatrix("x"), T.dmatrix("W"), T.dvector("h0")
    g = theano.grad(cost(x, W, h0), [x, W, h0])
    f = theano.function([x, W, h0], g)
    # forward loops merge; the backward loops (which read the forward results) merge too
    assert len(_scans(f)) < 6
    verify_grad(cost, [RNG.normal(size=(4, 3)), RNG.normal(size=(3, 3)) * 0.5,
                       RNG.normal(size=3)])
