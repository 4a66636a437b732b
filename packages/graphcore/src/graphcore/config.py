"""Global settings, read once from ``GRAPHCORE_FLAGS`` (or ``THEANO_FLAGS``).

``GRAPHCORE_FLAGS="device=cpu,floatX=float32"`` sets flags for a process;
``config.change_flags(floatX="float32")`` sets them for a ``with`` block.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import warnings

_FLOAT_DTYPES = ("float16", "float32", "float64")


def _parse_bool(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected a boolean, got {value!r}")


def _choice(*choices):
    def check(value):
        value = str(value)
        if value not in choices:
            raise ValueError(f"expected one of {choices}, got {value!r}")
        return value

    return check


def _str(value):
    return str(value)


def _int(value):
    return int(value)


# name -> (default, converter, doc)
_FLAGS = {
    "device": ("auto", _str,
               "Backend that compiled functions run on: 'auto' (cuda when a usable GPU is "
               "present, else cpu when graphrt-cpu is installed, else python), 'python', 'cpu', "
               "'cuda' (also Theano's 'gpu', 'gpu0', 'cuda1', ...), or any installed backend."),
    "fallback_device": ("", _str,
                        "Backend to use when `device` is not installed or not available on "
                        "this machine; empty means raise instead of falling back."),
    "floatX": ("float64", _choice(*_FLOAT_DTYPES),
               "dtype of the un-prefixed constructors (T.matrix(), T.vector(), ...)."),
    "mode": ("FAST_RUN", _str, "Default compile mode: FAST_RUN, FAST_COMPILE, or a Mode name."),
    "optimizer": ("fast_run", _str, "Default optimizer query tag for Mode()."),
    "optimizer_including": ("", _str, "Colon-separated rewrite tags added to every mode."),
    "optimizer_excluding": ("", _str, "Colon-separated rewrite tags removed from every mode."),
    "optimizer_requiring": ("", _str, "Colon-separated rewrite tags every rewrite must have."),
    "on_opt_error": ("warn", _choice("warn", "raise", "ignore"),
                     "What a failing rewrite does: report it and go on, or raise."),
    "on_unused_input": ("raise", _choice("raise", "warn", "ignore"),
                        "What function() does with an input the outputs do not need."),
    "profile": (False, _parse_bool, "Profile every compiled function."),
    "profile_memory": (False, _parse_bool,
                       "With profiling: also report the peak memory of each function and its "
                       "largest intermediate values."),
    "profile_optimizer": (False, _parse_bool, "Record time and applications per rewrite."),
    "traceback_limit": (8, _int, "How many user stack frames each Apply node records."),
    "constant_folding_max_size": (1 << 20, _int,
                                  "Largest constant (in elements) that constant folding may create."),
    "num_threads": (0, _int, "Threads a runtime may use for large loops; 0 means its own default."),
    "cuda_graphs": (True, _parse_bool,
                    "cuda backend: capture a call as a CUDA graph and replay it when the input "
                    "shapes repeat between calls."),
    "debugprint_style": ("theano", _choice("theano", "tree"),
                         "debugprint's layout: 'theano' (Theano's ' |' indentation, op names and "
                         "TensorConstant{...} spellings) or 'tree' (box-drawing lines, graphcore's "
                         "op names)."),
    "cuda_device_outputs": (False, _parse_bool,
                            "cuda backend: return outputs as CuPy arrays on the GPU instead of "
                            "copying them to NumPy."),
}

# Theano flags that Theano programs set and that have no effect here. They are
# accepted (and checked like Theano checks them) so existing code runs after
# changing only its imports; `config.describe()` lists them as compatibility flags.
_THEANO_COMPAT_FLAGS = {
    "compute_test_value": ("off", _choice("off", "ignore", "warn", "raise", "pdb"),
                           "Theano's test values: each node built runs on its inputs' tag.test_value at "
                           "once (graph/test_value.py); what a missing one does."),
    "print_test_value": (False, _parse_bool,
                         "Theano's switch to show a variable's test value (tag.test_value) "
                         "in its repr()."),
    "compute_test_value_opt": ("off", _choice("off", "ignore", "warn", "raise", "pdb"),
                               "Theano's test values during optimization; no effect."),
    "exception_verbosity": ("low", _choice("low", "high"),
                            "Theano's error detail; graphcore errors always carry the op, "
                            "input shapes and the user's line."),
    "allow_gc": (True, _parse_bool, "Theano's intermediate freeing; runtimes free by liveness."),
    "warn_float64": ("ignore", _choice("ignore", "warn", "raise", "pdb"),
                     "Theano's float64 warning; no effect."),
    "cast_policy": ("custom", _choice("custom", "numpy+floatX"),
                    "Theano's casting policy; graphcore follows NumPy 2 (NEP 50)."),
    "deterministic": ("default", _choice("default", "more"), "Theano's GPU determinism; no effect."),
    "cxx": ("", _str, "Theano's C++ compiler; graphcore compiles no C at run time."),
    "openmp": (False, _parse_bool, "Theano's OpenMP switch; see num_threads."),
    "optimizer_verbose": (False, _parse_bool, "Theano's rewrite log; see profile_optimizer."),
    "print_active_device": (True, _parse_bool, "Theano's device banner; no effect."),
    "int_division": ("int", _choice("int", "raise", "floatX"), "Theano's int division; "
                     "graphcore follows NumPy (x / y is true division)."),
    "base_compiledir": ("", _str, "Theano's cache of compiled C modules; graphcore compiles no C "
                        "at run time: no effect."),
    "compiledir": ("", _str, "Theano's per-platform C module cache; no effect (see "
                   "base_compiledir)."),
    "gcc.cxxflags": ("", _str, "Theano's extra C++ compiler flags; no effect (no C at run time)."),
    "force_device": (False, _parse_bool,
                     "Theano's 'never fall back to the CPU'; graphcore never falls back unless "
                     "fallback_device is set: no effect."),
    "warn.ignore_bug_before": ("0.9", _str, "Theano's cut-off for warnings about its old bugs; "
                               "no effect (every warn.* flag is accepted, see below)."),
}
# Flag families Theano scripts set member by member (`warn.sum_div_dimshuffle_bug=False`): any
# `prefix.name` is accepted with this converter and default. graphcore never had the bugs the
# warn.* flags warn about, so they have no effect.
_FLAG_FAMILIES = {
    "warn": (False, _parse_bool, "Theano's warnings about its old bugs; no effect here."),
}
_COMPAT_NAMES = frozenset(_THEANO_COMPAT_FLAGS)
_FLAGS.update(_THEANO_COMPAT_FLAGS)
# `config.gcc.cxxflags`, `config.warn.X`: attribute access by section
_SECTIONS = frozenset(name.split(".", 1)[0] for name in _FLAGS if "." in name) | set(_FLAG_FAMILIES)


def _flag_spec(name):
    """(default, converter, doc) of a flag, or None when `name` is not a flag."""
    spec = _FLAGS.get(name)
    if spec is None and "." in name:
        spec = _FLAG_FAMILIES.get(name.split(".", 1)[0])
    return spec


def _unknown(name, what="unknown flag"):
    """The message for an unknown flag, with the closest known names."""
    close = difflib.get_close_matches(name, list(_FLAGS), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    return f"{what} {name!r}{hint}; graphcore.config.describe() lists the known flags"


class _FlagSection:
    """`config.gcc`, `config.warn`: the flags named `section.<name>`, as attributes."""

    def __init__(self, config, prefix):
        object.__setattr__(self, "_config", config)
        object.__setattr__(self, "_prefix", prefix)

    def __getattr__(self, name):
        return getattr(self._config, f"{self._prefix}.{name}")

    def __setattr__(self, name, value):
        setattr(self._config, f"{self._prefix}.{name}", value)


class Config:
    """Attribute access to the flags; assignment checks the value."""

    def __init__(self, environ=None):
        object.__setattr__(self, "_values", {})
        for name, (default, convert, _doc) in _FLAGS.items():
            self._values[name] = convert(default) if not isinstance(default, str) else default
        environ = os.environ if environ is None else environ
        for var in ("THEANO_FLAGS", "GRAPHCORE_FLAGS"):  # ours wins when both set
            self._apply_flag_string(environ.get(var, ""), var)
        threads = environ.get("GRAPHCORE_NUM_THREADS")
        if threads:
            self.num_threads = threads

    def _apply_flag_string(self, text, source):
        for item in filter(None, (part.strip() for part in text.split(","))):
            if "=" not in item:
                raise ValueError(f"{source}: expected name=value, got {item!r}")
            name, value = (s.strip() for s in item.split("=", 1))
            if _flag_spec(name) is None:
                if source == "THEANO_FLAGS":  # Theano has many flags we do not: warn, as it did
                    warnings.warn(f"{source}: {_unknown(name)}; ignored", stacklevel=3)
                    continue
                raise ValueError(f"{source}: {_unknown(name)}")
            setattr(self, name, value)

    def __getattr__(self, name):
        try:
            return self._values[name]
        except KeyError:
            pass
        spec = _flag_spec(name)
        if spec is not None:  # a member of a flag family never set
            return spec[0]
        if name in _SECTIONS:
            return _FlagSection(self, name)
        raise AttributeError(_unknown(name, "graphcore.config has no flag")) from None

    def __setattr__(self, name, value):
        spec = _flag_spec(name)
        if spec is None:
            raise AttributeError(_unknown(name, "graphcore.config has no flag"))
        try:
            self._values[name] = spec[1](value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"config.{name}: {exc}") from None

    @contextlib.contextmanager
    def change_flags(self, **flags):
        """Set flags for the duration of a ``with`` block, then restore them (a dotted flag
        through a dict: ``change_flags(**{"gcc.cxxflags": "-O3"})``)."""
        old = {name: getattr(self, name) for name in flags}
        try:
            for name, value in flags.items():
                setattr(self, name, value)
            yield self
        finally:
            for name, value in old.items():
                self._values[name] = value

    def describe(self):
        return "\n".join(f"{name} = {self._values[name]!r}  # "
                         f"{'(Theano compatibility) ' if name in _COMPAT_NAMES else ''}{doc}"
                         for name, (_d, _c, doc) in _FLAGS.items()) + "".join(
            f"\n{prefix}.* = {default!r}  # (Theano compatibility) {doc}"
            for prefix, (default, _c, doc) in _FLAG_FAMILIES.items())


config = Config()
change_flags = config.change_flags
