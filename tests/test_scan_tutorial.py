"""Theano's loop tutorial (doc/tutorial/loop.txt) as our own tests, through `import graphcore as theano`."""

import numpy as np

import graphcore as theano
import graphcore.tensor as T

floatX = theano.config.floatX


def test_accumulate_with_updates_only():
    k = theano.shared(0)
    n_sym = T.iscalar("n_sym")
    results, updates = theano.scan(lambda: {k: (k + 1)}, n_steps=n_sym)
    assert results is None
    accumulator = theano.function([n_sym], [], updates=updates, allow_input_downcast=True)
    accumulator(5)
    assert k.get_value() == 5
    accumulator(3)
    assert k.get_value() == 8


def test_trace_over_two_index_sequences():
    X = T.matrix("X")
    results, _ = theano.scan(lambda i, j, t_f: T.cast(X[i, j] + t_f, floatX),
                             sequences=[T.arange(X.shape[0]), T.arange(X.shape[1])],
                             outputs_info=np.asarray(0.0, dtype=floatX))
    compute_trace = theano.function([X], results[-1])
    x = np.eye(5, dtype=floatX)
    x[0] = np.arange(5, dtype=floatX)
    assert compute_trace(x) == np.diagonal(x).sum()


def test_recurrence_with_a_reversed_sequence():
    X, W, U, Y, V, P = (T.vector("X"), T.matrix("W"), T.matrix("U"), T.matrix("Y"),
                        T.matrix("V"), T.matrix("P"))
    results, _ = theano.scan(
        lambda y, p, x_tm1: T.tanh(T.dot(x_tm1, W) + T.dot(y, U) + T.dot(p, V)),
        sequences=[Y, P[::-1]], outputs_info=[X])
    f = theano.function([X, W, Y, U, P, V], results)
    x = np.array([0, 1], dtype=floatX)
    w, u, v = (np.ones((2, 2), dtype=floatX) for _ in range(3))
    y = np.ones((5, 2), dtype=floatX)
    y[0] = -3
    p = np.ones((5, 2), dtype=floatX)
    p[0] = 3
    want = np.zeros((5, 2), dtype=floatX)
    want[0] = np.tanh(x.dot(w) + y[0].dot(u) + p[4].dot(v))
    for i in range(1, 5):
        want[i] = np.tanh(want[i - 1].dot(w) + y[i].dot(u) + p[4 - i].dot(v))
    np.testing.assert_allclose(f(x, w, y, u, p, v), want, rtol=1e-5)


def test_two_taps_recurrence():
    X, W, U, V = T.matrix("X"), T.matrix("W"), T.matrix("U"), T.matrix("V")
    b_sym, n_sym = T.vector("b_sym"), T.iscalar("n_sym")
    results, _ = theano.scan(
        lambda x_tm2, x_tm1: T.dot(x_tm2, U) + T.dot(x_tm1, V) + T.tanh(T.dot(x_tm1, W) + b_sym),
        n_steps=n_sym, outputs_info=[dict(initial=X, taps=[-2, -1])])
    f = theano.function([X, U, V, W, b_sym, n_sym], results)
    x = np.zeros((2, 2), dtype=floatX)
    x[1, 1] = 1
    w = 0.5 * np.ones((2, 2), dtype=floatX)
    u = 0.5 * (np.ones((2, 2), dtype=floatX) - np.eye(2, dtype=floatX))
    v = 0.5 * np.ones((2, 2), dtype=floatX)
    b = np.ones(2, dtype=floatX)
    want = np.zeros((10, 2))
    want[0] = x[0].dot(u) + x[1].dot(v) + np.tanh(x[1].dot(w) + b)
    want[1] = x[1].dot(u) + want[0].dot(v) + np.tanh(want[0].dot(w) + b)
    for i in range(2, 10):
        want[i] = want[i - 2].dot(u) + want[i - 1].dot(v) + np.tanh(want[i - 1].dot(w) + b)
    np.testing.assert_allclose(f(x, u, v, w, b, 10), want, rtol=1e-5)


def test_norms_of_rows_and_columns():
    X = T.matrix("X")
    rows, _ = theano.scan(lambda x_i: T.sqrt((x_i ** 2).sum()), sequences=[X])
    cols, _ = theano.scan(lambda x_i: T.sqrt((x_i ** 2).sum()), sequences=[X.T])
    f = theano.function([X], [rows, cols])
    x = np.diag(np.arange(1, 6, dtype=floatX), 1)
    r, c = f(x)
    np.testing.assert_allclose(r, np.sqrt((x ** 2).sum(1)), rtol=1e-6)
    np.testing.assert_allclose(c, np.sqrt((x ** 2).sum(0)), rtol=1e-6)


def test_gibbs_sampling_with_a_random_stream_in_the_step():
    rng = np.random.default_rng(0)
    W = theano.shared(rng.random((2, 2)).astype(floatX))
    bvis = theano.shared(rng.random(2).astype(floatX))
    bhid = theano.shared(rng.random(2).astype(floatX))
    trng = T.shared_randomstreams.RandomStreams(1234)

    def one_step(vsample):
        hmean = T.nnet.sigmoid(theano.dot(vsample, W) + bhid)
        hsample = trng.binomial(size=hmean.shape, n=1, p=hmean)
        vmean = T.nnet.sigmoid(theano.dot(hsample, W.T) + bvis)
        return trng.binomial(size=vsample.shape, n=1, p=vmean, dtype=floatX)

    sample = T.vector()
    values, updates = theano.scan(one_step, outputs_info=sample, n_steps=10)
    gibbs10 = theano.function([sample], values, updates=updates)
    draws = np.concatenate([gibbs10(np.ones(2, dtype=floatX)) for _ in range(20)])
    assert draws.shape == (200, 2) and set(np.unique(draws)) <= {0.0, 1.0}
    assert 0 < draws.mean() < 1  # the chain moves: not stuck at the start value
