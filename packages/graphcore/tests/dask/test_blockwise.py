"""graphcore.dask on dask's local threaded scheduler: results against NumPy, chunk analysis, errors.

The distributed behaviour (shipping once per worker, a killed worker, training) is tested on a
LocalCluster in tests/test_dask_distributed.py.
"""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")

import graphcore as theano  # noqa: E402
import graphcore.dask as gd  # noqa: E402
import graphcore.tensor as T  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(100, 7))
Y = RNG.normal(size=(100, 7))


def sync(a):
    return a.compute(scheduler="threads")


def test_elementwise_equals_numpy_and_the_local_call_with_unaligned_chunks():
    x, y = T.dmatrices("x", "y")
    f = theano.function([x, y], T.exp(x) * 2 + y * y - 1)
    dx = da.from_array(X, chunks=(30, 4))
    dy = da.from_array(Y, chunks=(25, 7))
    out = gd.map_blocks(f, dx, dy)
    assert out.dtype == np.float64 and out.shape == (100, 7)
    result = sync(out)
    np.testing.assert_allclose(result, np.exp(X) * 2 + Y * Y - 1, rtol=1e-13)
    # the same kernels, block by block (a strided block may take another vector path: 1 ulp)
    np.testing.assert_allclose(result, f(X, Y), rtol=1e-14)


def test_rowwise_dot_and_softmax_get_output_chunks_from_shape_inference():
    x = T.dmatrix("x")
    w = theano.shared(RNG.normal(size=(7, 3)), name="w")
    f = theano.function([x], T.nnet.softmax(T.dot(x, w)))
    out = gd.map_blocks(f, da.from_array(X, chunks=(30, 7)))
    assert out.chunks == ((30, 30, 30, 10), (3,))  # known before running anything
    e = np.exp(X @ w.get_value())
    np.testing.assert_allclose(sync(out), e / e.sum(1, keepdims=True), rtol=1e-12)


def test_reduction_over_an_unchunked_axis_and_broadcast_operands():
    x = T.dmatrix("x")
    v = T.dvector("v")
    f = theano.function([x, v], (x * v).sum(axis=1))
    out = gd.map_blocks(f, da.from_array(X, chunks=(40, 7)), RNG.normal(size=7))
    assert out.chunks == ((40, 40, 20),)
    assert sync(out).shape == (100,)


def test_several_outputs():
    x, y = T.dmatrices("x", "y")
    f = theano.function([x, y], [x + y, (x * y).astype("float32")])
    a, b = gd.map_blocks(f, da.from_array(X, chunks=(30, 4)), da.from_array(Y, chunks=(30, 4)))
    assert b.dtype == np.float32
    np.testing.assert_allclose(sync(a), X + Y)
    np.testing.assert_allclose(sync(b), (X * Y).astype("float32"), rtol=1e-6)


@pytest.mark.parametrize("kind", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("axis", [0, None, (0, 1)])
def test_reduction_equals_numpy(kind, axis):
    x = T.dmatrix("x")
    f = theano.function([x], getattr(T, kind)(T.exp(x) - 1, axis=axis))
    out = gd.reduction(f, da.from_array(X, chunks=(30, 4)))
    expected = getattr(np, kind)(np.exp(X) - 1, axis=axis)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(sync(out), expected, rtol=1e-12)


def test_not_chunkwise_is_refused_with_the_axis_named_unless_combine_is_given():
    x = T.dmatrix("x")
    f = theano.function([x], x.sum(axis=0), name="colsum")
    dx = da.from_array(X, chunks=(30, 7))
    with pytest.raises(gd.NotChunkwiseError, match=r"'colsum'.*axis 0 of input 0 \(x; 4 chunks\)"):
        gd.map_blocks(f, dx)
    np.testing.assert_allclose(sync(gd.map_blocks(f, dx, combine="sum")), X.sum(0))
    np.testing.assert_allclose(sync(gd.map_blocks(f, dx, combine=np.add)), X.sum(0))
    # the same function is fine when the reduced axis is one chunk
    np.testing.assert_allclose(sync(gd.map_blocks(f, da.from_array(X, chunks=(100, 3)))),
                               X.sum(0))


def test_mixing_before_the_final_reduction_is_refused():
    x = T.dmatrix("x")
    centred = theano.function([x], (x - x.mean()).sum())
    with pytest.raises(gd.NotChunkwiseError, match="before its final reduction"):
        gd.reduction(centred, da.from_array(X, chunks=(30, 7)))
    norm = theano.function([x], T.sqrt((x ** 2).sum()))
    with pytest.raises(gd.NotChunkwiseError, match="does not end in a sum, mean, max or min"):
        gd.reduction(norm, da.from_array(X, chunks=(30, 7)))
    # a user combine takes the responsibility: max of per-chunk norms
    out = gd.reduction(norm, da.from_array(X, chunks=(30, 7)), axis=(0, 1), combine=np.maximum)
    expected = max(np.sqrt((X[i:i + 30] ** 2).sum()) for i in range(0, 100, 30))
    np.testing.assert_allclose(sync(out), expected)


def test_a_full_length_operand_against_a_chunked_axis_is_not_chunkwise():
    x = T.dvector("x")
    w = theano.shared(RNG.normal(size=100), name="w")
    f = theano.function([x], x * w)
    with pytest.raises(gd.NotChunkwiseError):
        gd.map_blocks(f, da.from_array(X[:, 0], chunks=30))
    np.testing.assert_allclose(sync(gd.map_blocks(f, da.from_array(X[:, 0], chunks=100))),
                               X[:, 0] * w.get_value())


def test_argument_errors():
    x = T.dmatrix("x")
    f = theano.function([x], x + 1)
    with pytest.raises(TypeError, match="takes 1 input"):
        gd.map_blocks(f, da.from_array(X), da.from_array(X))
    with pytest.raises(ValueError, match="has 2 dimension"):
        gd.map_blocks(f, da.from_array(X[:, 0]))
    with pytest.raises(TypeError, match="compiled by graphcore.function"):
        gd.map_blocks(np.exp, da.from_array(X))
    s = theano.shared(0.0)
    g = theano.function([x], x + 1, updates=[(s, s + 1)])
    with pytest.raises(ValueError, match="train_data_parallel"):
        gd.map_blocks(g, da.from_array(X))


def test_shipment_relinks_without_optimizing_and_keeps_shared_values():
    x = T.dvector("x")
    s = theano.shared(np.arange(3.0), name="s")
    f = theano.function([x], T.exp(x) + s, name="f")
    shipment = gd.ship(f)
    assert shipment.backend == f.maker.backend.name
    assert shipment.versions["graphcore"]
    gd.shipping.forget(shipment.key)
    g = gd.load(pickle_roundtrip(shipment))
    assert g.maker.compile_time["optimize"] == 0.0
    assert [str(i) for i in g.program.instructions] == [str(i) for i in f.program.instructions]
    np.testing.assert_array_equal(g(np.ones(3)), f(np.ones(3)))
    assert gd.load(shipment) is g  # cached per process and thread
    assert gd.shipping_stats()["unpacked"][shipment.key] == 1


def pickle_roundtrip(obj):
    import pickle
    return pickle.loads(pickle.dumps(obj))
