"""Code generation checked on the CPU: index arithmetic against NumPy, keys, dtypes, the cache."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphcore.scalar import ops as so
from graphcore.scalar.composite import Composite
from graphcore.tensor.type import TensorType

from graphrt_cuda.cache import KernelCache
from graphrt_cuda.codegen.ctypes import ctype, highest, literal, lowest
from graphrt_cuda.codegen.elemwise import elemwise_kernel, op_signature
from graphrt_cuda.codegen.layout import (broadcast_strides, collapse, element_offset, index_bits,
                                         is_contiguous)
from graphrt_cuda.codegen.nnet import nnet_kernel
from graphrt_cuda.codegen.reduce import accumulator_dtype, reduce_kernel
from graphrt_cuda.codegen.scalar import Unsupported


def _elem_strides(a):
    return tuple(s // a.itemsize for s in a.strides)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data())
def test_collapsed_offsets_match_numpy(shape, data):
    """After broadcasting and collapsing, the kernel's offset formula addresses the same
    elements as NumPy, for transposed, sliced, reversed and broadcast operands."""
    shape = tuple(shape)
    base = np.arange(np.prod(shape) * 8, dtype=np.float32)
    operands = []
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["contig", "transpose", "step", "reverse", "bcast"]))
        if kind == "contig":
            a = base[: np.prod(shape)].reshape(shape)
        elif kind == "transpose":
            a = base[: np.prod(shape)].reshape(shape[::-1]).T
        elif kind == "step":
            a = base[: 2 * np.prod(shape)].reshape(shape[:-1] + (2 * shape[-1],))[..., ::2]
        elif kind == "reverse":
            a = base[: np.prod(shape)].reshape(shape)[..., ::-1]
        else:
            bshape = tuple(1 if data.draw(st.booleans()) else n for n in shape)
            a = base[: np.prod(bshape)].reshape(bshape)
        operands.append(a)
    strides = [broadcast_strides(shape, a.shape, _elem_strides(a)) for a in operands]
    cshape, cstrides = collapse(shape, strides)
    assert np.prod(cshape) == np.prod(shape)
    for a, full, cst in zip(operands, strides, cstrides):
        want = [sum(i * s for i, s in zip(idx, full)) for idx in np.ndindex(*shape)]
        got = [element_offset(i, cshape, cst) for i in range(int(np.prod(shape)))]
        assert got == want
        # and what NumPy itself reads there
        flat = np.broadcast_to(a, shape).ravel()
        first = a[(0,) * a.ndim]
        values = np.array([base[int(np.where(base == first)[0][0]) + off] for off in got])
        assert np.array_equal(values, flat)
        if is_contiguous(cshape, cst):
            assert got == list(range(len(got)))


def test_collapse_merges_contiguous_and_keeps_broadcast_apart():
    shape, strides = collapse((4, 5, 6), [(30, 6, 1), (0, 0, 1)])
    assert shape == (20, 6) and strides == [(6, 1), (0, 1)]
    assert collapse((4, 5, 6), [(30, 6, 1)]) == ((120,), [(1,)])
    assert collapse((1, 1), [(0, 0)]) == ((1,), [(0,)])
    with pytest.raises(ValueError, match="cannot broadcast"):
        broadcast_strides((3, 4), (3, 5), (5, 1))


def test_index_bits():
    assert index_bits((1000, 1000), [(1000, 1)]) == 32
    assert index_bits((1 << 31,), [(1,)]) == 64
    assert index_bits((2, 4), [(1 << 31, 1)]) == 64


def test_dtype_mapping_and_literals():
    assert ctype("float32") == "float" and ctype("int64") == "long long"
    assert ctype("uint8") == "unsigned char" and ctype("bool") == "bool"
    with pytest.raises(TypeError, match="float16"):
        ctype("float16")
    assert literal(1.5, "float32") == "1.5f" and literal(1.5, "float64") == "1.5"
    assert "0x7f800000" in literal(np.inf, "float32")
    assert "0x7ff8000000000000" in literal(np.nan, "float64")
    assert literal(True, "bool") == "true"
    assert lowest("int8") == "((signed char)-128)" and highest("uint8") == "((unsigned char)255)"
    assert "9223372036854775807" in lowest("int64")


def test_keys_name_what_the_kernel_depends_on():
    base = elemwise_kernel(so.exp, ["float32"], ["float32"], 2, [True, False], 32)
    assert base.key[0] == "elemwise"
    assert base == elemwise_kernel(so.exp, ["float32"], ["float32"], 2, [True, False], 32)
    variants = [
        elemwise_kernel(so.exp, ["float64"], ["float64"], 2, [True, False], 32),
        elemwise_kernel(so.exp, ["float32"], ["float32"], 3, [True, False], 32),
        elemwise_kernel(so.exp, ["float32"], ["float32"], 2, [True, True], 32),
        elemwise_kernel(so.exp, ["float32"], ["float32"], 2, [True, False], 64),
        elemwise_kernel(so.log, ["float32"], ["float32"], 2, [True, False], 32),
    ]
    keys = {base.key} | {v.key for v in variants}
    names = {base.name} | {v.name for v in variants}
    assert len(keys) == len(names) == 6
    assert "typedef long long IDX;" in variants[3].code and "typedef int IDX;" in base.code


def test_equal_composites_share_a_signature():
    def comp():
        x, y = TensorType("float32", ())(), TensorType("float32", ())()
        return Composite([x, y], [so.add(so.mul(x, y), so.exp(x))])

    a, b = comp(), comp()
    assert op_signature(a, ["float32"] * 2, ["float32"]) == op_signature(b, ["float32"] * 2,
                                                                         ["float32"])
    ks = elemwise_kernel(a, ["float32", "float32"], ["float32"], 1, [True] * 3, 32)
    assert "expf(" in ks.code and "(t0 * t1)" in ks.code.replace("  ", " ")


def test_numpy_promotion_in_the_generated_body():
    ks = elemwise_kernel(so.add, ["int8", "float32"], ["float32"], 1, [True] * 3, 32)
    assert "(float)t0" in ks.code  # int8 promoted to float32 before the add
    ks = elemwise_kernel(so.true_div, ["int32", "int32"], ["float64"], 1, [True] * 3, 32)
    assert "(double)t0" in ks.code and "(double)t1" in ks.code
    ks = elemwise_kernel(so.int_div, ["int64", "int64"], ["int64"], 1, [True] * 3, 32)
    assert "gc_floordiv_i(" in ks.code


def test_unsupported_names_the_op():
    with pytest.raises(Unsupported, match="float16"):
        elemwise_kernel(so.exp, ["float16"], ["float16"], 1, [True, True], 32)
    with pytest.raises(Unsupported, match="invert on float32"):
        elemwise_kernel(so.invert, ["float32"], ["float32"], 1, [True, True], 32)
    with pytest.raises(Unsupported, match="nnet|float16|softmax"):
        nnet_kernel("softmax", "float16", 32)


def test_reduction_accumulators_and_identities():
    assert accumulator_dtype("add", "float32", "float32", None) == "float32"
    assert accumulator_dtype("add", "float32", "float32", "float64") == "float64"
    assert accumulator_dtype("maximum", "int8", "int8", None) == "int8"
    assert accumulator_dtype("and", "float32", "bool", None) == "int32"
    ks = reduce_kernel("maximum", None, ["float32"], "float32", "float32", None, 1, 1, 32, "block")
    assert "gc_block_reduce" in ks.code and "GcMax" in ks.code
    ks = reduce_kernel("add", so.mul, ["float32", "float32"], "float32", "float32", "float64", 0, 1,
                       32, "thread")
    assert "double a_ = 0.0;" in ks.code and "(t0 * t1)" in ks.code


class _Loader:
    def __init__(self):
        self.loaded = []

    def __call__(self, path, name):
        self.loaded.append((path, name))
        return ("kernel", name)


def test_kernel_cache_memory_then_disk(tmp_path):
    pytest.importorskip("cupy")
    try:
        from graphrt_cuda.compiler import nvrtc_version

        nvrtc_version()
    except Exception as exc:
        pytest.skip(f"NVRTC is not usable here: {exc}")
    ks = elemwise_kernel(so.exp, ["float32"], ["float32"], 1, [True, True], 32)
    loader = _Loader()
    cache = KernelCache(tmp_path, loader=loader)
    assert cache.get(ks) == ("kernel", ks.name)
    assert cache.get(ks) == ("kernel", ks.name)
    assert cache.stats == {"memory_hits": 1, "disk_hits": 0, "compiled": 1}
    ptx_files = list(tmp_path.glob("*.ptx"))
    assert len(ptx_files) == 1 and ks.name in ptx_files[0].read_text()
    # a new process (a fresh cache object) finds it on disk: no compile
    cache2 = KernelCache(tmp_path, loader=_Loader())
    cache2.get(ks)
    assert cache2.stats == {"memory_hits": 0, "disk_hits": 1, "compiled": 0}
    # another architecture is another file
    cache3 = KernelCache(tmp_path, arch="compute_80", loader=_Loader())
    cache3.get(ks)
    assert cache3.stats["compiled"] == 1 and len(list(tmp_path.glob("*.ptx"))) == 2
