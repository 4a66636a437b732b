"""The Op base class: what a computation is, independent of any runtime."""

from __future__ import annotations

from graphcore.graph.basic import Apply
from graphcore.graph.null_type import grad_not_implemented


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

    # -- identity -------------------------------------------------------
    def _props(self):
        return tuple(getattr(self, name) for name in self.__props__)

    def __eq__(self, other):
        return type(self) is type(other) and self._props() == other._props()

    def __hash__(self):
        return hash((type(self), self._props()))

    def __str__(self):
        if not self.__props__:
            return type(self).__name__
        props = ", ".join(f"{p}={getattr(self, p)!r}" for p in self.__props__)
        return f"{type(self).__name__}{{{props}}}"

    def __repr__(self):
        return str(self)

    # -- building -------------------------------------------------------
    def make_node(self, *inputs) -> Apply:
        raise NotImplementedError(f"{type(self).__name__}.make_node")

    def __call__(self, *inputs, **kwargs):
        node = self.make_node(*inputs, **kwargs)
        if self.default_output is not None:
            return node.outputs[self.default_output]
        if len(node.outputs) == 1:
            return node.outputs[0]
        return node.outputs

    # -- running --------------------------------------------------------
    def perform(self, node, inputs, output_storage):
        """Compute outputs with NumPy: output_storage[i][0] = value. The reference semantics."""
        raise NotImplementedError(f"{type(self).__name__} has no perform")

    # -- shapes and derivatives -----------------------------------------
    def infer_shape(self, fgraph, node, input_shapes):
        """Symbolic output shapes (tuples of scalar Variables) from the input shapes."""
        raise ShapeInferenceNotImplemented(self)

    def grad(self, inputs, output_grads):
        return [grad_not_implemented(self, i, x) for i, x in enumerate(inputs)]

    def L_op(self, inputs, outputs, output_grads):
        """Gradients of the inputs given the outputs' gradients (reverse mode)."""
        return self.grad(inputs, output_grads)

    def R_op(self, inputs, eval_points):
        raise NotImplementedError(f"{type(self).__name__} has no R_op")

    def connection_pattern(self, node):
        """[input][output] -> whether that output depends differentiably on that input."""
        return [[True] * len(node.outputs) for _ in node.inputs]

    def do_constant_folding(self, fgraph, node):
        return True


class ShapeInferenceNotImplemented(NotImplementedError):
    def __init__(self, op):
        super().__init__(f"{op} cannot infer its output shape symbolically")
        self.op = op
