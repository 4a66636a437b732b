"""Test helpers for graphcore and its plugins: gradient, shape and cross-backend checks.

Third-party op and backend packages import these too::

    from graphcore.testing import (assert_allclose_backends, backend_names,
                                   check_infer_shape, verify_grad)

Every helper checks against an independent reference (finite differences,
the real shape of the computed value, the python reference backend, a NumPy
function), never against the code's own output.
"""

from __future__ import annotations

import numpy as np

from graphcore.backends.registry import available_backends
from graphcore.compile.function import function
from graphcore.compile.mode import Mode
from graphcore.gradient import GradientError, numeric_grad, verify_grad  # noqa: F401
from graphcore.graph.basic import Variable
from graphcore.graph.traversal import io_toposort
from graphcore.tensor.basic import as_tensor_variable
from graphcore.tensor.shape import shape_i

__all__ = ["verify_grad", "GradientError", "numeric_grad", "check_infer_shape", "symbolic_shapes",
           "assert_allclose_backends", "backend_names", "parametrize_backends", "default_rtol"]


def backend_names(include_python=True):
    """Names of the backends available on this machine (for ``pytest.mark.parametrize``)."""
    names = list(available_backends())
    if not include_python:
        names = [n for n in names if n != "python"]
    return names


def parametrize_backends(argname="backend", include_python=True):
    """``@parametrize_backends()``: run a test once per available backend, ids = backend names."""
    import pytest  # optional dependency (tests only), loaded lazily

    names = backend_names(include_python)
    return pytest.mark.parametrize(argname, names, ids=names)


def default_rtol(dtype):
    """The relative tolerance a result of `dtype` is compared with."""
    kind = np.dtype(dtype)
    if kind.kind not in "fc":
        return 0.0
    return {2: 1e-2, 4: 1e-5, 8: 1e-7, 16: 1e-7}.get(kind.itemsize if kind.kind == "f"
                                                     else kind.itemsize // 2, 1e-7)


# ---------------------------------------------------------------- infer_shape
def symbolic_shapes(outputs, inputs):
    """The symbolic shape of each output, built only from each op's `infer_shape`.

    Inputs (and other owner-less variables) contribute ``shape_i`` of
    themselves; every Apply node between them and `outputs` contributes what
    its op's ``infer_shape`` says. Returns one tuple of scalars per output.
    """
    shape_of = {}

    def get(var):
        if var not in shape_of:
            shape_of[var] = tuple(shape_i(var, d) for d in range(var.type.ndim))
        return shape_of[var]

    for node in io_toposort(list(inputs), list(outputs)):
        in_shapes = [get(i) for i in node.inputs]
        out_shapes = node.op.infer_shape(None, node, in_shapes)
        if len(out_shapes) != len(node.outputs):
            raise AssertionError(f"{node.op}.infer_shape returned {len(out_shapes)} shapes for "
                                 f"{len(node.outputs)} outputs")
        for k, (var, sh) in enumerate(zip(node.outputs, out_shapes)):
            sh = tuple(sh)
            if len(sh) != var.type.ndim:
                raise AssertionError(f"{node.op}.infer_shape gave output {k} {len(sh)} dimensions; "
                                     f"its type {var.type} has {var.type.ndim}")
            shape_of[var] = tuple(as_tensor_variable(s) if not isinstance(s, (int, np.integer))
                                  else s for s in sh)
    return [get(o) for o in outputs]


def check_infer_shape(outputs_fn, inputs, values, mode=None, check_no_op=True):
    """Check each op's `infer_shape` against the shape of the value actually computed.

    outputs_fn: a callable taking the symbolic `inputs` and returning an output
    (or a list of outputs), or the outputs themselves. `values` are the input
    values. The symbolic shapes are compiled into their own function (which,
    with check_no_op, must not contain the output nodes: a shape that needs the
    value is not an inferred shape) and compared with the real shapes.
    """
    inputs = list(inputs)
    outputs = outputs_fn(*inputs) if callable(outputs_fn) and not isinstance(outputs_fn, Variable) \
        else outputs_fn
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    real = function(inputs, outputs, mode=mode, on_unused_input="ignore")(*values)
    shapes = symbolic_shapes(outputs, inputs)
    flat = [as_tensor_variable(s) for sh in shapes for s in sh]
    if flat:
        if check_no_op:
            out_nodes = {o.owner for o in outputs if o.owner is not None}
            for node in io_toposort(inputs, flat):
                if node in out_nodes:
                    raise AssertionError(f"the inferred shape of an output of {node.op} needs "
                                         f"{node.op} itself: infer_shape must not compute the value")
        got = function(inputs, flat, mode=mode, on_unused_input="ignore")(*values)
    else:
        got = []
    pos = 0
    for k, (out, sh, value) in enumerate(zip(outputs, shapes, real)):
        inferred = tuple(int(np.asarray(g)) for g in got[pos: pos + len(sh)])
        pos += len(sh)
        actual = np.shape(value)
        where = f"output {k} ({out.owner.op if out.owner is not None else out})"
        if inferred != actual:
            raise AssertionError(f"{where}: infer_shape says {inferred}, the computed value has "
                                 f"shape {actual}")
        for d, (static, n) in enumerate(zip(out.type.shape, actual)):
            if static is not None and static != n:
                raise AssertionError(f"{where}: the type {out.type} says dimension {d} has length "
                                     f"{static}, the computed value has shape {actual}")


# ------------------------------------------------------------- cross-backend
def _to_numpy(value):
    """A backend's output as a NumPy array (device arrays, e.g. CuPy, are copied to the host)."""
    if isinstance(value, np.ndarray):
        return value
    get = getattr(value, "get", None)  # CuPy refuses implicit conversion; .get() copies to host
    return np.asarray(get() if callable(get) else value)


def assert_allclose_backends(inputs, outputs, values, backends=None, rtol=None, atol=0.0,
                             ref=None, mode_kwargs=None):
    """Compile `outputs` on every backend and compare with the python backend (and NumPy).

    inputs: symbolic inputs; outputs: a variable or a list; values: one value
    per input. backends defaults to every available backend. ref, when given,
    is a NumPy function of the values returning the expected output(s): every
    backend, the python reference included, is compared with it. dtypes and
    shapes must match exactly; values within `rtol` (default by dtype).
    Returns {backend name: list of outputs}.
    """
    single = not isinstance(outputs, (list, tuple))
    outs = [outputs] if single else list(outputs)
    names = list(backend_names() if backends is None else backends)
    if "python" not in names:
        names.insert(0, "python")
    results = {}
    for name in names:
        f = function(list(inputs), outs, mode=Mode(linker=name, **(mode_kwargs or {})),
                     on_unused_input="ignore")
        got = f(*[np.copy(v) if isinstance(v, np.ndarray) else v for v in values])
        results[name] = [_to_numpy(g) for g in got]
    expected = {"python": results["python"]}
    if ref is not None:
        want = ref(*values)
        want = [want] if single else list(want)
        if len(want) != len(outs):
            raise AssertionError(f"ref returned {len(want)} values for {len(outs)} outputs")
        expected = {"NumPy reference": [np.asarray(w) for w in want], **expected}
    for ref_name, ref_values in expected.items():
        for name, got in results.items():
            if name == ref_name:
                continue
            for k, (g, w, var) in enumerate(zip(got, ref_values, outs)):
                what = f"output {k} ({var}) on backend {name!r} vs {ref_name}"
                if g.dtype != w.dtype:
                    raise AssertionError(f"{what}: dtype {g.dtype} != {w.dtype}")
                if g.shape != w.shape:
                    raise AssertionError(f"{what}: shape {g.shape} != {w.shape}")
                tol = default_rtol(w.dtype) if rtol is None else rtol
                if g.dtype.kind in "fc":
                    np.testing.assert_allclose(g, w, rtol=tol, atol=atol, equal_nan=True,
                                               err_msg=what)
                else:
                    np.testing.assert_array_equal(g, w, err_msg=what)
    return results
