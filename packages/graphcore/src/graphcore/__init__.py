"""graphcore: a symbolic tensor compiler with Theano's programming model.

    import graphcore as theano
    import graphcore.tensor as T
"""

__version__ = "1.0.0"

from graphcore.config import config, change_flags  # noqa: E402,F401
from graphcore.graph import Apply, Constant, FunctionGraph, Op, Type, Variable  # noqa: E402,F401
from graphcore.graph.replace import clone_replace  # noqa: E402,F401
from graphcore.compile import (FAST_COMPILE, FAST_RUN, Function, In, Mode, Out,  # noqa: E402,F401
                               SharedVariable, function, function_dump, shared)
from graphcore.compile.debugmode import DebugMode  # noqa: E402,F401
from graphcore.compile.nanguardmode import NanGuardMode  # noqa: E402,F401
from graphcore.compile.ops import as_op  # noqa: E402,F401
from graphcore.compile.builders import OpFromGraph  # noqa: E402,F401
from graphcore.compile.profiling import ProfileStats  # noqa: E402,F401
from graphcore.gradient import Lop, Rop, grad, subgraph_grad, verify_grad, disconnected_grad  # noqa: E402,F401
from graphcore.printing import debugprint, pp, pprint  # noqa: E402,F401
from graphcore import tensor  # noqa: E402,F401
from graphcore.tensor import dot  # noqa: E402,F401  (theano.dot)
from graphcore.ifelse import ifelse  # noqa: E402,F401
from graphcore.scan import foldl, foldr, map, reduce, scan  # noqa: E402,F401,A004
from graphcore import scan_module  # noqa: E402,F401  (theano.scan_module.until)


def clone(output, replace=None, strict=True, share_inputs=True):
    """Theano's clone: a copy of `output`'s graph with `replace` substituted (see clone_replace)."""
    return clone_replace(output, replace, strict=strict, share_inputs=share_inputs)


dprint = debugprint
