"""graphrt_cpu: the graphcore CPU runtime.

graphcore finds the backend through the ``graphcore.backends`` entry point
``cpu = "graphrt_cpu.backend:CPUBackend"``; importing this package does no
work (the native module loads at the first link).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for the hints only: importing graphrt_cpu does not import graphcore
    from graphcore.graph.basic import Apply
    from graphcore.graph.op import Op

__version__ = "1.0.0"

__all__ = ["__version__", "get_include", "kernel_capsule", "register_kernel"]


def get_include() -> str:
    """Return the folder holding ``graphrt_cpu.h``; add it to your C compiler's include path.

    Third-party op packages use it to build C kernels against the runtime's
    kernel ABI, like ``numpy.get_include()``.
    """
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")


def register_kernel(op_class: type[Op], capsule: object, params: object = None,
                    accepts: Callable[[Apply], bool] | None = None) -> Callable[..., Any]:
    """Run `op_class` nodes with a native C kernel (a ``graphrt_cpu.kernel`` capsule; see graphrt_cpu.h).

    Third-party op packages call it from the module their ``graphcore.ops``
    entry point names. Details: `graphrt_cpu.plugin.register_kernel`.
    """
    from graphrt_cpu.plugin import register_kernel as register

    return register(op_class, capsule, params=params, accepts=accepts)


def kernel_capsule(module: str | ModuleType, attr: str) -> object:
    """The kernel capsule exported as `module.attr` (a module or its dotted name), checked for the ABI."""
    from graphrt_cpu.plugin import kernel_capsule as find

    return find(module, attr)
