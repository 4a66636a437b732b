"""config: flag parsing from GRAPHCORE_FLAGS / THEANO_FLAGS, validation, change_flags."""

import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.config import Config, config


def test_defaults():
    c = Config(environ={})
    assert c.device == "auto"
    assert c.floatX == "float64"
    assert c.fallback_device == ""
    assert c.on_unused_input == "raise"
    assert c.profile is False


def test_graphcore_flags_are_parsed():
    c = Config(environ={"GRAPHCORE_FLAGS": "device=cuda, floatX=float32,profile=True,"
                                           "traceback_limit=3,fallback_device=cpu"})
    assert c.device == "cuda"
    assert c.floatX == "float32"
    assert c.profile is True
    assert c.traceback_limit == 3
    assert c.fallback_device == "cpu"


def test_theano_flags_are_read_and_ours_win():
    c = Config(environ={"THEANO_FLAGS": "floatX=float32,device=python,cxx=,mode=FAST_RUN",
                        "GRAPHCORE_FLAGS": "device=cpu"})
    assert c.floatX == "float32"  # from THEANO_FLAGS
    assert c.device == "cpu"  # GRAPHCORE_FLAGS wins
    assert c.mode == "FAST_RUN"  # Theano-only flags such as cxx are ignored


def test_bad_flag_strings_are_clear_errors():
    with pytest.raises(ValueError, match="unknown flag 'bogus'.*known flags"):
        Config(environ={"GRAPHCORE_FLAGS": "bogus=1"})
    with pytest.raises(ValueError, match="expected name=value, got 'floatX'"):
        Config(environ={"GRAPHCORE_FLAGS": "floatX"})
    with pytest.raises(ValueError, match="config.floatX.*'int3'"):
        Config(environ={"GRAPHCORE_FLAGS": "floatX=int3"})
    with pytest.raises(ValueError, match="config.profile.*boolean"):
        Config(environ={"GRAPHCORE_FLAGS": "profile=perhaps"})


def test_num_threads_environment_variable():
    assert Config(environ={"GRAPHCORE_NUM_THREADS": "4"}).num_threads == 4


def test_assignment_is_validated():
    with pytest.raises(ValueError, match="config.floatX"):
        config.floatX = "int8"
    with pytest.raises(AttributeError, match="no flag 'nope'"):
        config.nope = 1
    with pytest.raises(AttributeError, match="no flag 'nope'"):
        config.nope  # noqa: B018


def test_change_flags_restores_even_after_an_error():
    before = config.floatX
    other = "float32" if before != "float32" else "float64"
    with pytest.raises(RuntimeError):
        with theano.change_flags(floatX=other):
            assert config.floatX == other
            assert T.vector().dtype == other
            raise RuntimeError("boom")
    assert config.floatX == before
    limit = config.traceback_limit
    with config.change_flags(floatX=other, traceback_limit=limit + 1):
        assert config.traceback_limit == limit + 1
    assert config.floatX == before and config.traceback_limit == limit
    with pytest.raises(ValueError):
        with theano.change_flags(floatX="int8"):
            pass
    assert config.floatX == before


def test_describe_lists_every_flag():
    text = config.describe()
    for name in ("device", "floatX", "fallback_device", "mode", "optimizer"):
        assert f"{name} = " in text


def test_theano_only_flags_are_accepted_and_checked():
    c = Config(environ={"THEANO_FLAGS": "allow_gc=False,exception_verbosity=high,cxx="})
    assert c.allow_gc is False and c.exception_verbosity == "high" and c.cxx == ""
    with theano.change_flags(compute_test_value="warn"):
        assert config.compute_test_value == "warn"
    config.compute_test_value = "off"
    with pytest.raises(ValueError, match="compute_test_value"):
        config.compute_test_value = "always"
    assert "(Theano compatibility)" in config.describe()
