"""Walking graphs: ancestors, inputs, and topological orders."""

from __future__ import annotations

from graphcore.graph.basic import Constant, Variable


def _as_list(vars_):
    if isinstance(vars_, Variable):
        return [vars_]
    return list(vars_)


def ancestors(outputs, blockers=()):
    """Every variable `outputs` depend on (themselves included), stopping at `blockers`."""
    blockers = set(map(id, blockers))
    seen, order, stack = set(), [], list(reversed(_as_list(outputs)))
    while stack:
        var = stack.pop()
        if id(var) in seen:
            continue
        seen.add(id(var))
        order.append(var)
        if var.owner is not None and id(var) not in blockers:
            stack.extend(reversed(var.owner.inputs))
    return order


def graph_inputs(outputs, blockers=()):
    """The owner-less variables (inputs and constants) `outputs` depend on."""
    blocked = set(map(id, blockers))
    return [v for v in ancestors(outputs, blockers) if v.owner is None or id(v) in blocked]


def io_toposort(inputs, outputs):
    """Apply nodes between `inputs` and `outputs`, each after the nodes it depends on."""
    stop = set(map(id, inputs))
    order, done = [], set()
    # iterative DFS post-order
    for out in _as_list(outputs):
        if out.owner is None or id(out) in stop or id(out.owner) in done:
            continue
        stack = [(out.owner, 0)]
        on_stack = {id(out.owner)}
        while stack:
            node, i = stack[-1]
            if i < len(node.inputs):
                stack[-1] = (node, i + 1)
                inp = node.inputs[i]
                parent = inp.owner
                if parent is None or id(inp) in stop or id(parent) in done:
                    continue
                if id(parent) in on_stack:
                    raise ValueError(f"the graph has a cycle through {parent}")
                stack.append((parent, 0))
                on_stack.add(id(parent))
            else:
                stack.pop()
                on_stack.discard(id(node))
                done.add(id(node))
                order.append(node)
    return order


def toposort(outputs):
    """All Apply nodes needed for `outputs`, in a valid execution order."""
    return io_toposort([], outputs)


def applys_between(inputs, outputs):
    return io_toposort(inputs, outputs)


def vars_between(inputs, outputs):
    """Variables on some path from `inputs` to `outputs`."""
    result = {id(v): v for v in inputs}
    for node in io_toposort(inputs, outputs):
        for v in node.inputs + node.outputs:
            result.setdefault(id(v), v)
    for v in _as_list(outputs):
        result.setdefault(id(v), v)
    return list(result.values())


def orphans(inputs, outputs):
    """Owner-less variables reached from `outputs` that are not in `inputs` (mostly constants)."""
    ins = set(map(id, inputs))
    return [v for v in ancestors(outputs, blockers=inputs) if v.owner is None and id(v) not in ins]


def is_constant_graph(var):
    return all(isinstance(v, Constant) for v in graph_inputs([var]))
