"""scalar.basic's dtype rules (cached) give exactly NumPy's answers for every spelling of a dtype."""

import itertools

import numpy as np
import pytest

from graphcore.scalar.basic import dtype_name, float_of, is_discrete, upcast
from graphcore.tensor.reduction import _sum_dtype
from graphcore.tensor.type import SUPPORTED_DTYPES

DTYPES = sorted(SUPPORTED_DTYPES)


def spellings(name):
    return [name, np.dtype(name), np.dtype(name).type, np.dtype(name).str]


@pytest.mark.parametrize("name", DTYPES)
def test_single_dtype_rules_match_numpy_for_every_spelling(name):
    d = np.dtype(name)
    for sp in spellings(name) * 2:  # twice: the cached answer is the same answer
        assert dtype_name(sp) == d.name
        assert is_discrete(sp) == (d.kind in "biu")
        assert float_of(sp) == (d.name if d.kind in "fc" else
                                "float32" if d.itemsize <= 2 else "float64")
        assert upcast(sp) == d.name
    want = "int64" if d.kind == "b" or (d.kind == "i" and d.itemsize < 8) else \
        "uint64" if d.kind == "u" and d.itemsize < 8 else d.name
    assert _sum_dtype(name) == want


def test_upcast_matches_numpy_result_type_on_every_pair_and_some_triples():
    for a, b in itertools.product(DTYPES, repeat=2):
        for _ in range(2):
            assert upcast(a, b) == np.result_type(np.dtype(a), np.dtype(b)).name
        assert upcast(np.dtype(a), b) == upcast(a, b)
    for a, b, c in [("int8", "uint8", "float16"), ("bool", "int32", "uint32"),
                    ("float32", "int64", "complex64")]:
        assert upcast(a, b, c) == np.result_type(a, b, c).name


def test_unhashable_or_invalid_dtypes_behave_as_without_the_cache():
    assert dtype_name([("a", "f8")]) == np.dtype([("a", "f8")]).name  # unhashable spelling
    for fn in (dtype_name, float_of, is_discrete, upcast):
        with pytest.raises(TypeError):
            fn("not_a_dtype")
