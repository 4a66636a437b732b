"""Scalar ops: elementwise computations with dtype rules, used by Elemwise and Composite."""

from graphcore.scalar.basic import (BinaryScalarOp, ScalarOp, UnaryScalarOp, float_of, is_discrete,
                                    upcast)
from graphcore.scalar.ops import *  # noqa: F401,F403
from graphcore.scalar import ops as _ops

__all__ = ["BinaryScalarOp", "ScalarOp", "UnaryScalarOp", "float_of", "is_discrete", "upcast"] + [
    n for n in dir(_ops) if not n.startswith("_") and n not in ("np", "sp")]
