"""paused_gc: the cyclic GC is off while grad() and function() build graphs, and restored after."""

import gc

import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.gc_pause import paused_gc


def test_grad_and_function_run_with_the_gc_paused_and_restore_it():
    seen = []

    @paused_gc()
    def probe():
        seen.append(gc.isenabled())

    x = T.vector("x")
    assert gc.isenabled()
    g = T.grad(T.sum(T.tanh(x)), x)
    f = theano.function([x], g)
    probe()
    assert gc.isenabled() and seen == [False]
    gc.disable()
    try:
        with paused_gc():
            pass
        theano.function([x], g)
        assert not gc.isenabled()  # a pause never turns on a collector the user turned off
    finally:
        gc.enable()
    assert f([0.0]).tolist() == [1.0]


def test_the_gc_is_restored_when_compilation_fails():
    x = T.vector("x")
    with pytest.raises(Exception):
        theano.function([x], T.vector("not_an_input") + x)
    with pytest.raises(TypeError):
        T.grad(x, x)  # not a scalar cost
    assert gc.isenabled()
