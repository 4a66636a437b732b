"""Logistic regression trained by gradient descent, written as Theano code.

Only the imports differ from the Theano original. The data are two Gaussian
blobs (400 points, 20 features, fixed seed) generated here, so the script
needs nothing but graphcore and NumPy:

    python examples/logistic_regression.py [--steps N] [--device python|cpu|...]

It prints the loss as it falls and the final training accuracy.
"""

import argparse

import numpy as np

import graphcore as theano
import graphcore.tensor as T


def make_blobs(n=400, features=20, seed=0):
    """Two Gaussian blobs, labels 0/1, in random order."""
    rng = np.random.default_rng(seed)
    half = n // 2
    centre = rng.normal(0.0, 1.0, features) * 0.5
    x0 = rng.normal(-centre, 1.0, (half, features))
    x1 = rng.normal(+centre, 1.0, (n - half, features))
    x = np.concatenate([x0, x1]).astype(theano.config.floatX)
    y = np.concatenate([np.zeros(half), np.ones(n - half)]).astype(theano.config.floatX)
    order = rng.permutation(n)
    return x[order], y[order]


def build(features, learning_rate=0.1, l2=0.01):
    """Symbolic model: returns (train, predict) compiled functions and the parameters."""
    X = T.matrix("X")
    y = T.vector("y")
    w = theano.shared(np.zeros(features, dtype=theano.config.floatX), name="w")
    b = theano.shared(np.asarray(0.0, dtype=theano.config.floatX), name="b")

    p_1 = T.sigmoid(T.dot(X, w) + b)  # probability of class 1
    # cross-entropy written out (no nnet import); clip keeps log away from 0
    eps = 1e-7
    p = T.clip(p_1, eps, 1 - eps)
    xent = -y * T.log(p) - (1 - y) * T.log(1 - p)
    cost = xent.mean() + l2 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])

    train = theano.function(
        inputs=[X, y],
        outputs=[cost, xent.mean()],
        updates=[(w, w - learning_rate * gw), (b, b - learning_rate * gb)],
        name="train")
    predict = theano.function(inputs=[X], outputs=p_1 > 0.5, name="predict")
    return train, predict, (w, b)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--every", type=int, default=50, help="print the loss every N steps")
    parser.add_argument("--device", default=None, help="backend to run on (default: config.device)")
    args = parser.parse_args(argv)
    if args.device:
        theano.config.device = args.device

    x, y = make_blobs()
    train, predict, (w, b) = build(x.shape[1])
    print(f"data: {x.shape[0]} examples, {x.shape[1]} features; "
          f"backend: {train.maker.backend.name}")
    for step in range(args.steps + 1):
        cost, xent = train(x, y)
        if step % args.every == 0:
            print(f"step {step:4d}  loss {float(cost):.4f}  cross-entropy {float(xent):.4f}")
    accuracy = float(np.mean(predict(x) == (y > 0.5)))
    print(f"final training accuracy: {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main()
