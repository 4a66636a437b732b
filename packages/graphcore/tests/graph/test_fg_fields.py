"""The fields a FunctionGraph declares for the passes (what function() tells graphopt)."""

import typing

import numpy as np

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile.mode import Mode
from graphcore.graph.fg import FunctionGraph

FIELDS = ("update_mapping", "mutable_inputs", "protected_inputs", "destroyable_by_update",
          "backend")


def test_fields_are_annotated_and_documented():
    hints = typing.get_type_hints(FunctionGraph)
    for name in FIELDS:
        assert name in hints
        assert f"`{name}`" in FunctionGraph.__doc__


def test_defaults_protect_every_input():
    x, y = T.vector("x"), T.vector("y")
    fg = FunctionGraph([x, y], [x + y])
    assert fg.update_mapping == {}
    assert fg.mutable_inputs == set() and fg.protected_inputs == set()
    assert fg.destroyable_by_update == set()
    assert fg.backend is None


def test_constructor_arguments_survive_clone():
    x, y = T.vector("x"), T.vector("y")
    fg = FunctionGraph([x, y], [x + y, y * 2], update_mapping={1: 1}, mutable_inputs={0},
                       protected_inputs={1}, destroyable_by_update={1}, backend="a backend")
    new = fg.clone()
    assert new is not fg
    assert new.update_mapping == {1: 1}
    assert new.mutable_inputs == {0} and new.protected_inputs == {1}
    assert new.destroyable_by_update == {1}
    assert new.backend == "a backend"


def test_function_declares_updates_mutable_inputs_and_backend():
    x, m = T.vector("x"), T.vector("m")
    s = theano.shared(np.zeros(3), name="s")
    f = theano.function([x, theano.In(m, mutable=True)], x + m, updates=[(s, s + x)],
                        mode=Mode(linker="python"))
    fg = f.maker.fgraph
    assert fg.update_mapping == {1: 2}  # output 1 (the update) is input 2 (s)
    assert fg.mutable_inputs == {1}
    assert fg.protected_inputs == {0, 2}
    assert fg.destroyable_by_update == {2}
    assert fg.backend is f.maker.backend
