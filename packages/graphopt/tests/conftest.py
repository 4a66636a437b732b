"""graphopt tests: rewrite errors raise; helpers to compile with and without the optimizer."""

import numpy as np
import pytest

import graphcore as theano
from graphcore.compile.mode import Mode
from graphcore.config import config


@pytest.fixture(autouse=True)
def _raise_on_opt_error():
    with config.change_flags(on_opt_error="raise"):
        yield


def compile_pair(inputs, outputs, optimizer="fast_run", **kwargs):
    """(optimized, unoptimized) functions on the reference backend."""
    f = theano.function(inputs, outputs, mode=Mode(linker="python", optimizer=optimizer), **kwargs)
    g = theano.function(inputs, outputs, mode=Mode(linker="python", optimizer=None), **kwargs)
    return f, g


def check_same(inputs, outputs, values, optimizer="fast_run", rtol=1e-7, atol=1e-10, **kwargs):
    """Compile optimized and unoptimized, assert equal results on `values`; return the optimized one."""
    f, g = compile_pair(inputs, outputs, optimizer, **kwargs)
    got, want = f(*[np.copy(v) for v in values]), g(*[np.copy(v) for v in values])
    if not isinstance(got, list):
        got, want = [got], [want]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
        assert np.asarray(a).dtype == np.asarray(b).dtype
    return f


def op_names(f):
    """Names of the ops of a compiled function's optimized graph (in execution order)."""
    return [str(ins.node.op) for ins in f.program.instructions]


def has_scalar_op(f, cls):
    """Whether some node (or fused Composite) of f's graph runs scalar op `cls`."""
    from graphcore.scalar.composite import Composite

    for node in f.maker.fgraph.apply_nodes:
        sop = getattr(node.op, "scalar_op", None)
        if sop is None:
            continue
        if isinstance(sop, cls):
            return True
        if isinstance(sop, Composite) and any(isinstance(n.op, cls) for n in sop.nodes):
            return True
    return False


@pytest.fixture
def helpers():
    class H:
        pass

    h = H()
    h.compile_pair = compile_pair
    h.check_same = check_same
    h.op_names = op_names
    h.has_scalar_op = has_scalar_op
    return h
