"""The Op base class: what a computation is, independent of any runtime."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphcore.config import config
from graphcore.graph.basic import Apply, Variable
from graphcore.graph.null_type import grad_not_implemented
from graphcore.graph.test_value import compute_test_values


class Op:
    """A computation. `__props__` name the attributes that define equality and hash.

    Subclasses implement `make_node` (type checking), `perform` (the NumPy
    reference semantics), `infer_shape` and `L_op`/`grad`. An Op carries no
    runtime-specific code: each backend maps op classes to its own kernels.
    """

    __props__: tuple = ()
    default_output = None
    destroy_map: dict = {}  # output index -> [input indices it overwrites]
    view_map: dict = {}  # output index -> [input indices it is a view of]
    # True when every output not in view_map/destroy_map is a buffer perform (and every
    # backend's kernel) allocates anew: graphopt's inplace pass may then overwrite it
    fresh_outputs: bool = False

    # -- identity -------------------------------------------------------
    def _props(self):
        return tuple(getattr(self, name) for name in self.__props__)

    def __eq__(self, other):
        return type(self) is type(other) and self._props() == other._props()

    def __hash__(self):
        return hash((type(self), self._props()))

    # -- memory ---------------------------------------------------------
    def aliased_outputs(self, node):
        """{output index: [input indices]}: the outputs of `node` that may share memory with
        those inputs. By default the declared views (`view_map`); an op whose perform may hand
        back an input (or a read-only broadcast of one) lists those outputs too."""
        return self.view_map

    def __str__(self):
        if not self.__props__:
            return type(self).__name__
        props = ", ".join(f"{p}={getattr(self, p)!r}" for p in self.__props__)
        return f"{type(self).__name__}{{{props}}}"

    def __repr__(self):
        return str(self)

    # -- building -------------------------------------------------------
    def make_node(self, *inputs: Any) -> Apply:
        raise NotImplementedError(f"{type(self).__name__}.make_node")

    def __call__(self, *inputs: Any, **kwargs: Any) -> Any:
        """make_node's default output (or its list of outputs when it has several)."""
        node = self.make_node(*inputs, **kwargs)
        if config.compute_test_value != "off":  # Theano's test values
            compute_test_values(node)
        if self.default_output is not None:
            return node.outputs[self.default_output]
        if len(node.outputs) == 1:
            return node.outputs[0]
        return node.outputs

    # -- running --------------------------------------------------------
    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list[list[Any]]) -> None:
        """Compute outputs with NumPy: output_storage[i][0] = value. The reference semantics."""
        raise NotImplementedError(f"{type(self).__name__} has no perform")

    # -- shapes and derivatives -----------------------------------------
    def infer_shape(self, fgraph: Any, node: Apply, input_shapes: Sequence[tuple[Any, ...]]
                    ) -> list[tuple[Any, ...]]:
        """Symbolic output shapes (tuples of scalar Variables) from the input shapes."""
        raise ShapeInferenceNotImplemented(self)

    def grad(self, inputs: Sequence[Variable], output_grads: Sequence[Variable]) -> list[Variable]:
        return [grad_not_implemented(self, i, x) for i, x in enumerate(inputs)]

    def L_op(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
             output_grads: Sequence[Variable]) -> list[Variable]:
        """Gradients of the inputs given the outputs' gradients (reverse mode)."""
        return self.grad(inputs, output_grads)

    def R_op(self, inputs: Sequence[Variable], eval_points: Sequence[Variable | None]
             ) -> list[Variable | None]:
        raise NotImplementedError(f"{type(self).__name__} has no R_op")

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        """[input][output] -> whether that output depends differentiably on that input."""
        return [[True] * len(node.outputs) for _ in node.inputs]

    def do_constant_folding(self, fgraph: Any, node: Apply) -> bool:
        return True


class ShapeInferenceNotImplemented(NotImplementedError):
    def __init__(self, op):
        super().__init__(f"{op} cannot infer its output shape symbolically")
        self.op = op
