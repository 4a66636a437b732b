"""Two-level hierarchical softmax (Theano's `T.nnet.h_softmax`), as a composition."""

from __future__ import annotations

from graphcore.tensor import math as m
from graphcore.tensor.basic import as_tensor_variable
from graphcore.tensor.creation import arange
from graphcore.tensor.dot import dot
from graphcore.tensor.linalg_products import batched_dot, tensordot
from graphcore.tensor.nnet.softmax import softmax
from graphcore.tensor.shape import reshape


def h_softmax(x, batch_size, n_outputs, n_classes, n_outputs_per_class, W1, b1, W2, b2,  # noqa: N803
              target=None):
    """Probabilities of n_outputs outputs grouped in n_classes classes of n_outputs_per_class.

    p(output o | x) = softmax(x W1 + b1)[o // n_outputs_per_class]
                      * softmax(x W2[c] + b2[c])[o % n_outputs_per_class], c = o // n_outputs_per_class.
    x: (batch_size, n_in); W1: (n_in, n_classes); b1: (n_classes,);
    W2: (n_classes, n_in, n_outputs_per_class); b2: (n_classes, n_outputs_per_class).
    Without target: all probabilities, (batch_size, n_outputs). With integer
    targets (batch_size,): the probability of each row's target only, computing
    just the one class's second-level softmax per row.
    """
    x = as_tensor_variable(x)
    class_probs = softmax(m.add(dot(x, W1), b1))
    if target is None:
        act = m.add(tensordot(x, W2, axes=[[1], [1]]), b2)  # (B, n_classes, per_class)
        out_probs = softmax(act, axis=-1)
        out_probs = m.mul(class_probs.dimshuffle(0, 1, "x"), out_probs)
        return reshape(out_probs, [batch_size, -1])[:, :n_outputs]
    target = as_tensor_variable(target).flatten()
    target_classes = target // n_outputs_per_class
    target_in_class = target % n_outputs_per_class
    rows = arange(batch_size)
    w_sel = as_tensor_variable(W2)[target_classes]  # (B, n_in, per_class)
    act = m.add(batched_dot(x, w_sel), as_tensor_variable(b2)[target_classes])
    out_probs = softmax(act, axis=-1)
    return m.mul(class_probs[rows, target_classes], out_probs[rows, target_in_class])


__all__ = ["h_softmax"]
