"""Scalar ops: elementwise computations with dtype rules, used by Elemwise and Composite."""

from graphcore.scalar.basic import (BinaryScalarOp, ScalarOp, UnaryScalarOp, float_of, is_discrete,
                                    upcast)
from graphcore.scalar.ops import *  # noqa: F401,F403
from graphcore.scalar.special import *  # noqa: F401,F403
from graphcore.scalar import ops as _ops, special as _special

__all__ = ["BinaryScalarOp", "ScalarOp", "UnaryScalarOp", "float_of", "is_discrete", "upcast"] + [
    n for mod in (_ops, _special) for n in dir(mod)
    if not n.startswith("_") and n not in ("np", "sp", "annotations")]
