"""graphcore: a symbolic tensor compiler with Theano's programming model.

    import graphcore as theano
    import graphcore.tensor as T
"""

__version__ = "1.0.0"

from graphcore.config import config, change_flags  # noqa: E402,F401
from graphcore.graph import Apply, Constant, FunctionGraph, Op, Type, Variable  # noqa: E402,F401
from graphcore.graph.replace import clone_replace  # noqa: E402,F401
from graphcore.graph.shared import SharedVariable as _SharedVariable  # noqa: E402
from graphcore.graph.traversal import ancestors as _ancestors  # noqa: E402
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
from graphcore import ifelse  # noqa: E402,F401  (the module, as theano.ifelse: theano.ifelse.ifelse)
from graphcore.scan import foldl, foldr, map, reduce, scan  # noqa: E402,F401,A004
from graphcore import scan_module  # noqa: E402,F401  (theano.scan_module.until)
# Theano's facades, loaded last (they sit above everything): theano.optimize (the rewrite
# passes by name), theano.tensor.opt, theano.gof, theano.updates
from graphcore import gof, optimize, updates  # noqa: E402,F401
from graphcore.tensor import opt as _tensor_opt  # noqa: E402,F401  (binds graphcore.tensor.opt)


def clone(output, replace=None, strict=True, share_inputs=True):
    """Theano's clone: a copy of `output`'s graph with `replace` substituted (see clone_replace).

    The replacement reaches the default updates too: a shared variable of the graph (a random
    stream's generator) whose default update reads a replaced variable is swapped for a copy
    sharing its value whose default update has the replacement, so the clone compiles without
    the replaced variable (e.g. `srng.binomial(size=x.shape) * x` cloned with x -> a minibatch).
    """
    out = clone_replace(output, replace, strict=strict, share_inputs=share_inputs)
    pairs = list(replace.items()) if isinstance(replace, dict) else list(replace or ())
    if not pairs:
        return out
    keys = [old for old, _ in pairs]
    swaps = []
    for var in _ancestors(out if isinstance(out, (list, tuple)) else [out]):
        update = getattr(var, "default_update", None)
        if isinstance(var, _SharedVariable) and update is not None \
                and set(_ancestors([update])) & set(keys):
            copy = var.clone()
            copy.default_update = clone_replace(update, pairs + [(var, copy)], strict=strict)
            swaps.append((var, copy))
    return clone_replace(out, swaps, strict=strict) if swaps else out


dprint = debugprint
