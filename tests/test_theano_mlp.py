"""The deep-learning-tutorial MLP pattern (shared dataset, minibatches through givens slicing,
softmax + negative log-likelihood by advanced indexing, SGD updates), only imports changed."""

import numpy as np

import graphcore as theano
import graphcore.tensor as T


def test_mlp_with_minibatch_givens_learns():
    rng = np.random.RandomState(1234)
    n_in, n_hidden, n_out, n = 8, 16, 3, 240
    centers = rng.randn(n_out, n_in) * 3
    labels = rng.randint(0, n_out, n)
    data = centers[labels] + rng.randn(n, n_in)
    train_x = theano.shared(np.asarray(data, dtype=theano.config.floatX), borrow=True)
    train_y = T.cast(theano.shared(np.asarray(labels, dtype=theano.config.floatX), borrow=True),
                     "int32")

    index = T.lscalar()
    x = T.matrix("x")
    y = T.ivector("y")
    batch_size = 20
    bound = np.sqrt(6. / (n_in + n_hidden))
    W1 = theano.shared(np.asarray(rng.uniform(-bound, bound, (n_in, n_hidden)),
                                  dtype=theano.config.floatX), name="W1", borrow=True)
    b1 = theano.shared(np.zeros((n_hidden,), dtype=theano.config.floatX), name="b1", borrow=True)
    W2 = theano.shared(np.zeros((n_hidden, n_out), dtype=theano.config.floatX), name="W2",
                       borrow=True)
    b2 = theano.shared(np.zeros((n_out,), dtype=theano.config.floatX), name="b2", borrow=True)
    hidden = T.tanh(T.dot(x, W1) + b1)
    p_y_given_x = T.nnet.softmax(T.dot(hidden, W2) + b2)
    y_pred = T.argmax(p_y_given_x, axis=1)
    nll = -T.mean(T.log(p_y_given_x)[T.arange(y.shape[0]), y])
    errors = T.mean(T.neq(y_pred, y))
    params = [W1, b1, W2, b2]
    cost = nll + 0.0001 * (W1 ** 2).sum() + 0.0001 * (W2 ** 2).sum()
    gparams = [T.grad(cost, p) for p in params]
    updates = [(p, p - 0.1 * g) for p, g in zip(params, gparams)]
    train_model = theano.function([index], cost, updates=updates,
        givens={x: train_x[index * batch_size: (index + 1) * batch_size],
                y: train_y[index * batch_size: (index + 1) * batch_size]})
    test_model = theano.function([], errors, givens={x: train_x, y: train_y})
    n_batches = n // batch_size
    first = None
    for epoch in range(20):
        costs = [train_model(i) for i in range(n_batches)]
        if first is None:
            first = np.mean(costs)
    last = np.mean(costs)
    assert last < first / 5, (first, last)
    assert test_model() < 0.05
    assert W2.get_value(borrow=True).dtype == theano.config.floatX
