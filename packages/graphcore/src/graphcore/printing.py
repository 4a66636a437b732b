"""Printing graphs: debugprint (an indented tree with ids and types) and pp (infix text)."""

from __future__ import annotations

import sys

from graphcore.graph.basic import Constant, Variable


def _ids():
    table = {}

    def get(obj):
        if id(obj) not in table:
            table[id(obj)] = (len(table), obj)
        return f"[id {_letters(table[id(obj)][0])}]"

    return get


def _letters(n):
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _var_label(var):
    from graphcore.compile.sharedvalue import SharedVariable

    if isinstance(var, SharedVariable):
        return f"{var} (shared)"
    if isinstance(var, Constant):
        return f"{var} (constant)"
    return str(var) if var.name else f"<{var.type}>"


def debugprint(obj, file=None, print_type=False, depth=-1, ids="id", print_destroy_map=False,
               print_view_map=False, done=None):
    """Print `obj` (a variable, list of variables, Apply, FunctionGraph or compiled function) as a tree.

    Each node is printed once with an id; a node seen before shows only its id.
    Returns the text (and writes it to `file`, default stdout; file="str" only returns it).
    """
    from graphcore.compile.function_module import Function
    from graphcore.graph.fg import FunctionGraph

    notes = []
    if isinstance(obj, Function):
        fgraph = obj.maker.fgraph
        roots = list(fgraph.outputs)
        header = [f"Compiled function{(' ' + repr(obj.name)) if obj.name else ''} "
                  f"(backend {obj.maker.backend.name}, {len(fgraph.apply_nodes)} nodes):"]
        notes = [""] * obj._n_outputs
        for out_pos, in_pos in sorted(fgraph.update_mapping.items()):
            notes.append(f" (update of {fgraph.inputs[in_pos]})")
    elif isinstance(obj, FunctionGraph):
        roots, header = list(obj.outputs), []
    elif isinstance(obj, Variable):
        roots, header = [obj], []
    elif hasattr(obj, "outputs") and hasattr(obj, "op"):
        roots, header = list(obj.outputs), []
    elif isinstance(obj, (list, tuple)):
        roots, header = list(obj), []
    else:
        raise TypeError(f"debugprint: cannot print a {type(obj).__name__}")
    get_id = _ids()
    done = set() if done is None else done
    lines = list(header)

    def visit(var, first, rest, level, note=""):
        tail = f" {var.type}" if print_type else ""
        if var.owner is None:
            lines.append(f"{first}{_var_label(var)} {get_id(var)}{tail}{note}")
            return
        node = var.owner
        out = "" if len(node.outputs) == 1 else f".{node.outputs.index(var)}"
        extra = ""
        if print_destroy_map and getattr(node.op, "destroy_map", None):
            extra += f" d={node.op.destroy_map}"
        if print_view_map and getattr(node.op, "view_map", None):
            extra += f" v={node.op.view_map}"
        name = f" '{var.name}'" if var.name else ""
        lines.append(f"{first}{node.op}{out}{name} {get_id(node)}{tail}{extra}{note}")
        if node in done or level == depth:
            return
        done.add(node)
        n = len(node.inputs)
        for k, inp in enumerate(node.inputs):
            last = k == n - 1
            visit(inp, rest + (" └─ " if last else " ├─ "), rest + ("    " if last else " │  "),
                  level + 1)

    for k, r in enumerate(roots):
        visit(r, "", "", 0, notes[k] if k < len(notes) else "")
    text = "\n".join(lines)
    if file == "str":
        return text
    print(text, file=file or sys.stdout)
    return text


_INFIX = {"add": "+", "sub": "-", "mul": "*", "true_div": "/", "int_div": "//", "pow": "**",
          "mod": "%", "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "eq": "==", "neq": "!=",
          "and": "&", "or": "|", "xor": "^"}


def pp(var):
    """A one-line infix rendering of the expression computing `var`."""
    from graphcore.tensor.elemwise import DimShuffle, Elemwise

    if isinstance(var, (list, tuple)):
        return "\n".join(pp(v) for v in var)
    if var.owner is None:
        return str(var)
    node = var.owner
    op = node.op
    args = [pp(i) for i in node.inputs]
    if isinstance(op, Elemwise):
        name = op.scalar_op.name
        sym = _INFIX.get(name)
        if sym and len(args) >= 2:
            return "(" + f" {sym} ".join(args) + ")"
        if name == "neg":
            return f"-{args[0]}"
        return f"{name}({', '.join(args)})"
    if isinstance(op, DimShuffle):
        if isinstance(node.inputs[0], Constant) and not op.drop and \
                [o for o in op.new_order if o != "x"] == list(range(len(op.input_broadcastable))):
            return args[0]  # a constant padded with broadcastable axes reads as the constant
        if op.is_transpose and op.shuffle == tuple(reversed(range(len(op.shuffle)))):
            return f"{args[0]}.T"
        return f"{args[0]}.dimshuffle({', '.join(repr(o) for o in op.new_order)})"
    return f"{op}({', '.join(args)})"
