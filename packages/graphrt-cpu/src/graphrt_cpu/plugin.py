"""Native kernels from other packages: register a C function (graphrt_cpu.h ABI) for an op class.

A third-party op package compiles a `graphrt_kernel` against
``graphrt_cpu.get_include()``, exports it from its C extension as a capsule
(``graphrt_kernel_capsule(fn)``) and, from the module its ``graphcore.ops``
entry point names, calls::

    graphrt_cpu.register_kernel(MyOp, graphrt_cpu.kernel_capsule("mypkg._native", "my_kernel"))

The VM then calls the function from its C loop for every `MyOp` node; errors
it reports carry the op, the inputs and the user's line like any kernel's.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from graphcore.graph.basic import Apply
from graphcore.graph.op import Op

from graphrt_cpu import _vm  # type: ignore[attr-defined, unused-ignore]  # compiled VM, no stubs
from graphrt_cpu.backend import register_lowering

KERNEL_CAPSULE_NAME = _vm.KERNEL_CAPSULE_NAME
ABI_VERSION = _vm.ABI_VERSION


def kernel_capsule(module: str | ModuleType, attr: str) -> object:
    """The kernel capsule `module.attr` (`module`: a module or its dotted name), checked for the ABI.

    Raises TypeError if it is not a ``graphrt_cpu.kernel`` capsule and
    ImportError if it was built for another kernel ABI version.
    """
    mod = importlib.import_module(module) if isinstance(module, str) else module
    try:
        capsule = getattr(mod, attr)
    except AttributeError:
        raise AttributeError(f"graphrt-cpu: module {mod.__name__!r} has no kernel capsule {attr!r}") from None
    _check_version(capsule, f"{mod.__name__}.{attr}")
    return capsule


def _check_version(capsule: object, what: str) -> None:
    version = _vm.kernel_abi_version(capsule)
    if version == 0:
        raise ImportError(f"graphrt-cpu: native kernel {what} carries no kernel ABI version: export it with "
                          "graphrt_kernel_capsule() from graphrt_cpu.h, and rebuild the package that provides it")
    if version != ABI_VERSION:
        raise ImportError(f"graphrt-cpu: native kernel {what} was built for kernel ABI version {version}, "
                          f"this graphrt-cpu has version {ABI_VERSION}: rebuild the package that provides it")


def register_kernel(op_class: type[Op], capsule: object, params: object = None,
                    accepts: Callable[[Apply], bool] | None = None) -> Callable[..., Any]:
    """Run nodes whose op is an `op_class` with the native kernel in `capsule` (see graphrt_cpu.h).

    params: the opaque pointer the kernel receives as ``call->params``: None
    (NULL), a PyCapsule (its pointer), a contiguous buffer such as
    ``struct.pack(...)`` bytes or a NumPy array (its bytes), or a callable
    ``params(node)`` returning one of those, evaluated once per node when a
    function is compiled (for parameters that are op properties).
    accepts: optional ``accepts(node) -> bool``; a node it rejects (a dtype
    the kernel lacks) runs the op's `perform`, as does a call where the
    kernel returns GRAPHRT_USE_PERFORM.

    Returns the lowering registered for `op_class` (exact class first, then
    along the MRO, so subclasses use it too unless they register their own).
    """
    if not isinstance(op_class, type):
        raise TypeError(f"register_kernel: op_class must be an Op class, got {op_class!r}")
    _check_version(capsule, f"for {op_class.__name__}")
    limit = _vm.PLUGIN_MAX_ARGS

    def lower_plugin_op(node: Apply, ins: Any) -> Any:
        if accepts is not None and not accepts(node):
            return None
        if len(node.inputs) > limit or len(node.outputs) > limit:
            return None
        p = params(node) if callable(params) else params
        return _vm.PluginKernel(node, capsule, p)

    lower_plugin_op.__qualname__ = f"lower_{op_class.__name__}"
    return register_lowering(op_class, lower_plugin_op)

