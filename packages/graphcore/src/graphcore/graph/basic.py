"""Variables, constants and Apply nodes: the vertices and edges of a graph."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from graphcore.config import config
from graphcore.graph.hooks import compile_function
from graphcore.graph.trace import capture_user_trace

if TYPE_CHECKING:  # for the hints only (both modules import this one)
    from graphcore.graph.op import Op
    from graphcore.graph.type import Type

_ids = itertools.count()


class Variable:
    """A symbolic value of a `Type`; `owner` is the Apply that computes it (None for inputs)."""

    __array_priority__ = 1000  # numpy defers binary operators to us

    def __init__(self, type: Type, owner: Apply | None = None, index: int | None = None,
                 name: str | None = None) -> None:
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.tag = SimpleNamespace()
        self.auto_name = f"auto_{next(_ids)}"

    def clone(self, name: str | None = None) -> Variable:
        """A new, owner-less Variable of the same type (and name, tag)."""
        cp = type(self)(self.type, None, None, self.name if name is None else name)
        cp.tag = SimpleNamespace(**vars(self.tag))
        return cp

    def __str__(self):
        if self.name is not None:
            return self.name
        if self.owner is not None:
            op = self.owner.op
            return f"{op}.{self.index}"
        return f"<{self.type}>"

    def __repr__(self):
        if config.print_test_value and hasattr(self.tag, "test_value"):  # Theano's flag
            return f"{self}\n{self.tag.test_value!r}"
        return str(self)

    def get_parents(self):
        return [self.owner] if self.owner is not None else []

    def eval(self, inputs_to_values: dict[Variable, Any] | None = None, **kwargs: Any) -> Any:
        """Compile and run this variable (cached per set of inputs), like Theano's `eval`."""
        inputs_to_values = dict(inputs_to_values or {})
        inputs = list(inputs_to_values)
        key = tuple(id(v) for v in inputs)
        cache = self.__dict__.setdefault("_eval_cache", {})
        if key not in cache:
            cache[key] = compile_function(inputs, self, on_unused_input="ignore", **kwargs)
        return cache[key](*[inputs_to_values[v] for v in inputs])

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_eval_cache", None)
        return state


class Constant(Variable):
    """A Variable with a fixed value; constants with equal values and types merge."""

    def __init__(self, type: Type, data: Any, name: str | None = None) -> None:
        super().__init__(type, None, None, name)
        self.data = type.filter(data)

    def signature(self):
        return (self.type, self.type.value_signature(self.data))

    def equals(self, other):
        return isinstance(other, Constant) and self.signature() == other.signature()

    def clone(self, name=None):
        cp = type(self)(self.type, self.data, self.name if name is None else name)
        cp.tag = SimpleNamespace(**vars(self.tag))
        return cp

    def __str__(self):
        if self.name is not None:
            return self.name
        return self.type.constant_str(self.data)


class Apply:
    """One application of an Op to input Variables, producing output Variables."""

    def __init__(self, op: Op, inputs: Sequence[Variable], outputs: Sequence[Variable]) -> None:
        self.op = op
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        for i, inp in enumerate(self.inputs):
            if not isinstance(inp, Variable):
                raise TypeError(f"{op}: input {i} is a {type(inp).__name__}, expected a Variable")
        for i, out in enumerate(self.outputs):
            if not isinstance(out, Variable):
                raise TypeError(f"{op}: output {i} is a {type(out).__name__}, expected a Variable")
            if out.owner is not None and out.owner is not self:
                raise ValueError(f"{op}: output {i} already belongs to another Apply node")
            out.owner = self
            out.index = i
        self.tag = SimpleNamespace(trace=capture_user_trace(config.traceback_limit))

    @property
    def nin(self) -> int:
        return len(self.inputs)

    @property
    def nout(self) -> int:
        return len(self.outputs)

    def default_output(self) -> Variable:
        do = getattr(self.op, "default_output", None)
        if do is None:
            if len(self.outputs) == 1:
                return self.outputs[0]
            raise ValueError(f"{self.op} has several outputs and no default_output")
        return self.outputs[do]

    @property
    def out(self) -> Variable:
        return self.default_output()

    def clone(self, clone_inner_graph: bool = False) -> Apply:
        """A copy with the same inputs and fresh outputs of the same types."""
        new = Apply.__new__(Apply)
        new.op = self.op
        new.inputs = list(self.inputs)
        new.outputs = [o.clone() for o in self.outputs]
        for i, o in enumerate(new.outputs):
            o.owner, o.index = new, i
        new.tag = SimpleNamespace(**vars(self.tag))
        return new

    def clone_with_new_inputs(self, inputs: Sequence[Variable], strict: bool = True) -> Apply:
        """A copy applied to `inputs`; with strict=False the op may re-infer output types."""
        if len(inputs) != len(self.inputs):
            raise ValueError(f"{self.op}: expected {len(self.inputs)} inputs, got {len(inputs)}")
        if strict and all(new.type == old.type for new, old in zip(inputs, self.inputs)):
            new = self.clone()
            new.inputs = list(inputs)
            return new
        new = self.op.make_node(*inputs)
        new.tag = SimpleNamespace(**vars(self.tag))
        return new

    def __str__(self):
        return f"{self.op}({', '.join(str(i) for i in self.inputs)})"

    def __repr__(self):
        return str(self)


def io_signature(node):
    """What identifies a node for merging: its op and the identity of its inputs."""
    return (node.op, tuple(id(i) for i in node.inputs))
