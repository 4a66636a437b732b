"""Theano's test values (config.compute_test_value): with the flag on, each node built through
an op's call runs its `perform` at once on its inputs' test values, so a shape or value error
shows at the line of user code that builds the graph instead of when the function runs.

A test value is a constant's data, a shared variable's value, or what the user put in
`var.tag.test_value` (converted to the variable's type); outputs get theirs in their tag. The
flag says what a missing one does: 'off' (nothing is computed), 'ignore' (skip the node),
'warn' (skip with a warning), 'raise' or 'pdb' (a ValueError).
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

from graphcore.config import config
from graphcore.graph.basic import Apply, Constant, Variable
from graphcore.graph.shared import SharedVariable


def get_test_value(var: Variable) -> Any:
    """The test value of `var`; AttributeError when it has none (Theano's get_test_value)."""
    if isinstance(var, Constant):
        return var.data
    if isinstance(var, SharedVariable):
        return var.get_value(borrow=True)
    if hasattr(var.tag, "test_value"):
        return var.type.filter(var.tag.test_value, name=str(var))
    raise AttributeError(f"{var} has no test value (set {var}.tag.test_value)")


def compute_test_values(node: Apply) -> None:
    """Run `node` on its inputs' test values (config.compute_test_value on) and store them."""
    mode = config.compute_test_value
    if mode == "off":
        return
    values = []
    for i, var in enumerate(node.inputs):
        try:
            values.append(get_test_value(var))
        except AttributeError:
            message = (f"Cannot compute test value: input {i} ({var}) of Op {node.op} missing "
                       f"default value: set {var}.tag.test_value (config.compute_test_value="
                       f"{mode!r})")
            if mode in ("raise", "pdb"):
                raise ValueError(message) from None
            if mode == "warn":
                warnings.warn(message, stacklevel=4)
            return
    if getattr(node.op, "destroy_map", None):  # the user's test values stay as they were
        values = [copy.deepcopy(v) for v in values]
    storage: list[list[Any]] = [[None] for _ in node.outputs]
    node.op.perform(node, values, storage)
    for var, (value,) in zip(node.outputs, storage):
        var.tag.test_value = value
