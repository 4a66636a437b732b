"""graphcore.testing: the helpers must pass correct ops and catch wrong ones."""

import numpy as np
import pytest

import graphcore.tensor as T
from graphcore.graph import Apply, Op
from graphcore.testing import (assert_allclose_backends, backend_names, check_infer_shape,
                               parametrize_backends, symbolic_shapes, verify_grad)

A = np.arange(6.0).reshape(2, 3)


class Twice(Op):
    """Concatenates x with itself along axis 0; `wrong` makes infer_shape lie."""

    __props__ = ("wrong",)

    def __init__(self, wrong=False):
        self.wrong = wrong

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [T.TensorType(x.dtype, (None,) * x.ndim)()])

    def perform(self, node, inputs, out):
        out[0][0] = np.concatenate([inputs[0], inputs[0]])

    def infer_shape(self, fgraph, node, shapes):
        n, *rest = shapes[0]
        return [(n if self.wrong else n * 2, *rest)]


class ShapeFromValue(Twice):
    """infer_shape that cheats by computing the output itself."""

    def infer_shape(self, fgraph, node, shapes):
        return [tuple(T.shape_i(node.outputs[0], d) for d in range(node.outputs[0].ndim))]


def test_check_infer_shape_passes_a_correct_op():
    x = T.dmatrix("x")
    check_infer_shape(Twice(), [x], [A])
    check_infer_shape(lambda v: [Twice()(v), v.sum(axis=1)], [x], [A])


def test_check_infer_shape_catches_a_wrong_shape():
    x = T.dmatrix("x")
    with pytest.raises(AssertionError, match=r"infer_shape says \(2, 3\).*shape \(4, 3\)"):
        check_infer_shape(Twice(wrong=True), [x], [A])


def test_check_infer_shape_catches_a_shape_computed_from_the_value():
    x = T.dmatrix("x")
    with pytest.raises(AssertionError, match="must not compute the value"):
        check_infer_shape(ShapeFromValue(), [x], [A])
    check_infer_shape(ShapeFromValue(), [x], [A], check_no_op=False)


def test_symbolic_shapes_of_inputs_are_their_own_shapes():
    x = T.dmatrix("x")
    (shape,) = symbolic_shapes([x], [x])
    assert len(shape) == 2


def test_assert_allclose_backends_compares_dtype_shape_and_values():
    x = T.fvector("x")
    v = np.array([1.0, 2.0], dtype="float32")
    results = assert_allclose_backends([x], [x * 2, x.sum()], [v],
                                       ref=lambda a: [a * 2, a.sum()])
    assert set(results) == set(backend_names()) | {"python"}
    with pytest.raises(AssertionError, match="dtype float32 != float64"):
        assert_allclose_backends([x], x * 2, [v], ref=lambda a: a.astype("float64") * 2)
    with pytest.raises(AssertionError, match="shape"):
        assert_allclose_backends([x], x * 2, [v], ref=lambda a: (a * 2)[None])
    with pytest.raises(AssertionError):
        assert_allclose_backends([x], x * 2, [v], ref=lambda a: a * 3)


@parametrize_backends()
def test_parametrize_backends_gives_each_available_backend(backend):
    assert backend in backend_names()


def test_verify_grad_is_the_gradient_module_one():
    from graphcore import gradient

    assert verify_grad is gradient.verify_grad
