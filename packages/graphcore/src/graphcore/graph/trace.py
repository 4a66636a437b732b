"""Where the user built each node, so errors can point at user code."""

from __future__ import annotations

import importlib.util
import linecache
import os
import sys
from importlib import metadata

_PKG_ROOTS = None

# Packages whose frames are library internals, not user code: graphcore itself and the
# providers of its runtimes and rewrites, found through these entry-point groups (so graphcore
# never names them, and a third-party runtime counts too). Op plugins (graphcore.ops) are not
# internal: a user's own op is user code.
INTERNAL_ENTRY_POINT_GROUPS = ("graphcore.backends", "graphcore.rewrites")


def _package_dirs(name):
    """The folders of top-level package `name`, found without importing it (it may be imported
    only later, at the first compile, after nodes have already recorded traces)."""
    mod = sys.modules.get(name)
    if mod is not None and getattr(mod, "__file__", None):
        return [os.path.dirname(mod.__file__) + os.sep]
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return []
    return [os.path.join(location, "") for location in
            (getattr(spec, "submodule_search_locations", None) or ())]


def _internal_roots():
    global _PKG_ROOTS
    if _PKG_ROOTS is None:
        graphcore_dir = os.path.dirname(os.path.dirname(__file__)) + os.sep
        roots = [graphcore_dir]
        packages = sorted({ep.module.split(".")[0] for group in INTERNAL_ENTRY_POINT_GROUPS
                           for ep in metadata.entry_points(group=group)})
        for name in packages:
            roots.extend(r for r in _package_dirs(name) if r not in roots)
        _PKG_ROOTS = tuple(roots)
    return _PKG_ROOTS


_INTERNAL_FILES = {}  # filename -> whether its frames are graphcore/runtime internals


def reset_internal_roots():
    """Forget the cached package roots (after a runtime package is imported)."""
    global _PKG_ROOTS
    _PKG_ROOTS = None
    _INTERNAL_FILES.clear()


def capture_user_trace(limit):
    """Return up to `limit` (filename, lineno, function) frames of user code, innermost last.

    Frames inside graphcore and its runtimes are skipped: the user wants the
    line of *their* code that built the node.
    """
    if limit <= 0:
        return ()
    internal = _INTERNAL_FILES
    frame = sys._getframe(1)
    frames = []
    while frame is not None and len(frames) < limit:
        code = frame.f_code
        filename = code.co_filename
        skip = internal.get(filename)
        if skip is None:
            skip = internal[filename] = filename.startswith(_internal_roots()) or \
                "importlib" in filename
        if not skip:
            frames.append((filename, frame.f_lineno, code.co_name))
        frame = frame.f_back
    frames.reverse()
    return tuple(frames)


def format_trace(frames):
    lines = []
    for filename, lineno, func in frames:
        lines.append(f'  File "{filename}", line {lineno}, in {func}')
        code = linecache.getline(filename, lineno).strip()
        if code:
            lines.append(f"    {code}")
    return "\n".join(lines)


def _describe_value(value):
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return f"shape={tuple(shape)} dtype={dtype}"
    return f"{type(value).__name__}"


def node_error_message(node, input_values, exc):
    """The text added to an exception raised while running `node`."""
    parts = [
        f"{exc}",
        f"Apply node that caused the error: {node}",
        "Inputs: " + ", ".join(_describe_value(v) for v in input_values),
    ]
    frames = getattr(node.tag, "trace", ())
    if frames:
        parts.append("The node was created at (most recent call last):\n" + format_trace(frames))
    else:
        parts.append("The node's creation trace is not recorded (config.traceback_limit=0).")
    return "\n".join(parts)


class NodeRuntimeError(RuntimeError):
    """Raised when an op fails and its original exception type cannot carry the context."""


def reraise_with_node_info(node, input_values, exc):
    """Re-raise `exc` (same type when possible) with the op, inputs and user line."""
    if getattr(exc, "__graphcore_annotated__", False):
        raise exc
    message = node_error_message(node, input_values, exc)
    try:
        new = type(exc)(message)
    except Exception:  # exception types with unusual constructors
        new = NodeRuntimeError(message)
    new.__graphcore_annotated__ = True
    new.node = node
    raise new.with_traceback(exc.__traceback__) from exc
