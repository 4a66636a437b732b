"""Copying graphs and substituting variables in them."""

from __future__ import annotations

from graphcore.graph.basic import Constant, Variable
from graphcore.graph.hooks import tensor_api
from graphcore.graph.shared import SharedVariable
from graphcore.graph.traversal import io_toposort


def clone_get_equiv(inputs, outputs, copy_inputs=True, copy_orphans=True, memo=None):
    """Clone the graph between `inputs` and `outputs`; return the old -> new map (by object)."""
    memo = {} if memo is None else memo
    for inp in inputs:
        if inp not in memo:
            memo[inp] = inp.clone() if copy_inputs else inp
    for node in io_toposort(inputs, outputs):
        for inp in node.inputs:
            if inp not in memo:
                if inp.owner is None:  # an orphan: a constant or a variable not listed as input
                    memo[inp] = inp.clone() if (copy_orphans and isinstance(inp, Constant)) else inp
                else:
                    memo[inp] = inp
        new_node = node.clone_with_new_inputs([memo[i] for i in node.inputs], strict=True)
        memo[node] = new_node
        for old, new in zip(node.outputs, new_node.outputs):
            memo[old] = new
    for out in outputs:
        if out not in memo:
            memo[out] = out.clone() if (copy_orphans and isinstance(out, Constant)) else out
    return memo


def clone(inputs, outputs, copy_inputs=True, copy_orphans=True):
    """Copies of `inputs` and `outputs` over a fresh copy of the graph between them."""
    equiv = clone_get_equiv(inputs, outputs, copy_inputs, copy_orphans)
    return [equiv[i] for i in inputs], [equiv[o] for o in outputs]


def _check_replacement(old, new):
    if not isinstance(old, Variable):
        raise TypeError(f"clone_replace: key {old!r} is not a Variable")
    if not isinstance(new, Variable):
        new = tensor_api.as_tensor_variable(new)
    if old.type != new.type:
        converted = old.type.convert_variable(new) if hasattr(old.type, "convert_variable") else None
        if converted is None:
            raise TypeError(
                f"cannot replace {old} (type {old.type}) with {new} (type {new.type}): "
                "the types differ")
        new = converted
    return new


def clone_replace(output, replace=None, strict=True, share_inputs=True, rebuild_strict=None,
                  copy_inputs_over=None):
    """Copy of `output` (a Variable or list) with the variables in `replace` substituted.

    `replace` maps old variables to new ones (a dict or a list of pairs). Every
    Apply node between the inputs and `output` is copied, so the original
    graph is untouched. With share_inputs=True (Theano's default) the copy
    uses the same input variables (and shared variables); with False the
    inputs that are not replaced are copied too. strict=False lets a
    replacement of a different static shape re-infer the types downstream.
    """
    if rebuild_strict is not None:
        strict = rebuild_strict
    if copy_inputs_over is not None:
        share_inputs = copy_inputs_over
    single = isinstance(output, Variable)
    outputs = [output] if single else list(output)
    items = list(replace.items()) if isinstance(replace, dict) else list(replace or [])
    items = [(old, _check_replacement(old, new) if strict else _as_variable(new))
             for old, new in items]
    memo = dict(items)

    def leaf(v):
        return v if (share_inputs or isinstance(v, Constant) or _is_shared(v)) else v.clone()

    new_outputs = [rebuild(o, memo, strict, leaf) for o in outputs]
    return new_outputs[0] if single else new_outputs


def rebuild(var, memo, strict=True, leaf=None, keep_unchanged=False):
    """`var` with every node above `memo`'s variables copied onto their new inputs.

    memo (old -> new variable) is filled in as it goes, so calls sharing it
    share the copies; an explicit stack, not recursion, so deep graphs work.
    A variable without an owner maps to leaf(v) (to itself when leaf is None).
    keep_unchanged: a node whose inputs all map to themselves is kept, not copied.
    """
    stack = [var]
    while stack:
        v = stack[-1]
        if v in memo:
            stack.pop()
            continue
        node = v.owner
        if node is None:
            memo[v] = v if leaf is None else leaf(v)
            stack.pop()
            continue
        pending = [i for i in node.inputs if i not in memo]
        if pending:
            stack.extend(pending)
            continue
        new_inputs = [memo[i] for i in node.inputs]
        if keep_unchanged and all(n is i for n, i in zip(new_inputs, node.inputs)):
            for o in node.outputs:
                memo[o] = o
        else:
            new_node = node.clone_with_new_inputs(new_inputs, strict=strict)
            for o, n in zip(node.outputs, new_node.outputs):
                n.name = o.name
                memo[o] = n
        stack.pop()
    return memo[var]


def _as_variable(new):
    if isinstance(new, Variable):
        return new
    return tensor_api.as_tensor_variable(new)


def _is_shared(v):
    return isinstance(v, SharedVariable)
