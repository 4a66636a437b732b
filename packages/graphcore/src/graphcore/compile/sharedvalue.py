"""Shared variables: symbolic variables with a value that persists between function calls.

Theano's home for these names. The base class and the `shared()` registry live in
the graph layer (graphcore.graph.shared), the tensor kind in the tensor core
(graphcore.tensor.variable, its constructor in graphcore.tensor.basic), so the layers
below compile can make and recognise shared variables; this module re-exports them.
"""

from graphcore.graph.shared import Container, SharedVariable, shared, shared_constructor
from graphcore.tensor.variable import TensorSharedVariable

__all__ = ["Container", "SharedVariable", "TensorSharedVariable", "shared", "shared_constructor"]
