"""Theano's flags as Theano scripts set them (THEANO_FLAGS strings, `theano.config.X = ...`,
`config.gcc.cxxflags`, `config.warn.*`), config.mode by every Theano mode name, and the
module-level modes theano.compile.FAST_RUN / FAST_COMPILE."""

import atexit
import warnings

import numpy as np
import pytest

import graphcore as theano
import graphcore.tensor as T
from graphcore.compile import Mode, get_default_mode
from graphcore.config import Config, config

THEANO_SCRIPT_FLAGS = ("base_compiledir=/tmp/theano_base,compiledir=/tmp/theano_base/c,cxx=,"
                       "gcc.cxxflags=-O3 -march=native,warn.sum_div_dimshuffle_bug=False,"
                       "warn.ignore_bug_before=all,print_test_value=True,optimizer_verbose=True,"
                       "optimizer_excluding=fusion:inplace,exception_verbosity=high,"
                       "floatX=float32,device=cpu,force_device=True,allow_gc=False,profile=False,"
                       "profile_memory=True,profile_optimizer=False")


@pytest.mark.parametrize("var", ["THEANO_FLAGS", "GRAPHCORE_FLAGS"])
def test_a_theano_script_flag_string_is_accepted(var):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no flag of the list is unknown
        c = Config(environ={var: THEANO_SCRIPT_FLAGS})
    assert c.base_compiledir == "/tmp/theano_base" and c.compiledir == "/tmp/theano_base/c"
    assert c.gcc.cxxflags == "-O3 -march=native" and getattr(c, "gcc.cxxflags") == c.gcc.cxxflags
    assert c.warn.sum_div_dimshuffle_bug is False and c.warn.ignore_bug_before == "all"
    assert c.print_test_value is True and c.optimizer_verbose is True
    assert c.optimizer_excluding == "fusion:inplace" and c.exception_verbosity == "high"
    assert (c.floatX, c.device, c.force_device, c.allow_gc) == ("float32", "cpu", True, False)
    assert (c.profile, c.profile_memory, c.profile_optimizer) == (False, True, False)


def test_flags_set_in_code_as_theano_scripts_do():
    with config.change_flags(**{"gcc.cxxflags": "-O2", "warn.identify_1pexp_bug": True,
                                "warn.argmax_pushdown_bug": False, "base_compiledir": "/tmp/x",
                                "force_device": True}):
        assert config.gcc.cxxflags == "-O2" and config.warn.identify_1pexp_bug is True
        config.gcc.cxxflags = "-O1"  # attribute assignment through the section
        config.warn.argmax_pushdown_bug = True
        assert getattr(config, "gcc.cxxflags") == "-O1"
        assert config.warn.argmax_pushdown_bug is True
    assert config.gcc.cxxflags == "" and config.base_compiledir == ""
    assert config.warn.identify_1pexp_bug is False and config.warn.argmax_pushdown_bug is False
    assert config.warn.some_warning_never_set is False  # the family's default
    with pytest.raises(ValueError, match="config.warn.vm_gc_bug: expected a boolean"):
        config.warn.vm_gc_bug = "sometimes"


def test_unknown_flags_are_errors_naming_the_close_matches():
    with pytest.raises(ValueError, match=r"GRAPHCORE_FLAGS: unknown flag 'flaotX' \(did you mean "
                                         r"'floatX'\?\)"):
        Config(environ={"GRAPHCORE_FLAGS": "flaotX=float32"})
    with pytest.raises(AttributeError, match=r"no flag 'optimiser_excluding' \(did you mean "
                                             r"'optimizer_excluding'"):
        config.optimiser_excluding = "fusion"
    with pytest.raises(AttributeError, match=r"no flag 'gcc.cxxflag' \(did you mean 'gcc.cxxflags'"):
        config.gcc.cxxflag  # noqa: B018
    with pytest.raises(AttributeError, match="no flag 'zzz'; graphcore.config.describe"):
        config.zzz  # noqa: B018
    assert not hasattr(config, "cxxflags_of_nothing")


def test_theano_flags_warns_about_flags_it_does_not_know_as_theano_did():
    with pytest.warns(UserWarning, match=r"THEANO_FLAGS: unknown flag 'devcie' \(did you mean "
                                         r"'device'.*ignored"):
        c = Config(environ={"THEANO_FLAGS": "devcie=cuda,floatX=float32"})
    assert c.floatX == "float32" and c.device == "auto"


def test_describe_lists_the_compatibility_flags():
    text = config.describe()
    for name in ("base_compiledir", "compiledir", "gcc.cxxflags", "force_device",
                 "print_test_value", "warn.*"):
        assert f"\n{name} = " in text


@pytest.mark.parametrize("name", ["Mode", "FAST_RUN", "FAST_COMPILE", "DebugMode", "DEBUG_MODE",
                                  "NanGuardMode", "FastCompileMode"])
def test_config_mode_by_every_theano_name(name):
    x = T.dvector("x")
    before = config.mode
    config.mode = name
    try:
        f = theano.function([x], T.exp(x) + 1)
        assert get_default_mode() == f.maker.mode
    finally:
        config.mode = before
    np.testing.assert_allclose(f(np.array([0.0, 1.0])), np.exp([0.0, 1.0]) + 1)


def test_config_mode_profile_mode():
    x = T.dvector("x")
    with config.change_flags(mode="ProfileMode"):
        with pytest.warns(DeprecationWarning, match="profile=True"):
            f = theano.function([x], x * 3)
    assert f.profile is not None
    atexit.unregister(f.profile.summary)
    np.testing.assert_allclose(f(np.array([1.0])), [3.0])


def test_module_level_modes_are_mode_instances():
    assert isinstance(theano.compile.FAST_RUN, Mode) and theano.FAST_RUN is theano.compile.FAST_RUN
    assert theano.compile.FAST_COMPILE.optimizer_name == "fast_compile"
    x = T.dvector("x")
    mode = theano.compile.FAST_RUN.excluding("fusion")
    f = theano.function([x], T.exp(x) * 2 + 1, mode=mode)
    assert not any(type(n.op).__name__ == "Composite" or
                   type(getattr(n.op, "scalar_op", None)).__name__ == "Composite"
                   for n in f.maker.fgraph.toposort())
    np.testing.assert_allclose(f(np.array([0.0])), [3.0])
    g = theano.function([x], x + 1, mode=theano.compile.FAST_COMPILE)
    np.testing.assert_allclose(g(np.array([1.0])), [2.0])
