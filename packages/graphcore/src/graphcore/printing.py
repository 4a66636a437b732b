"""Printing graphs: debugprint (an indented tree with ids and types), pp/pprint (infix text),
pydotprint (a Graphviz DOT file), and the Print op (prints a value when it is computed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from graphcore.compile.function_module import Function
from graphcore.config import config
from graphcore.graph.basic import Apply, Constant, Variable
from graphcore.graph.fg import FunctionGraph
from graphcore.graph.hooks import debugprint as debugprint_hook
from graphcore.graph.op import Op
from graphcore.graph.shared import SharedVariable
from graphcore.graph.traversal import toposort
from graphcore.scalar.composite import Composite
from graphcore.tensor.advanced_subtensor import (AdvancedIncSubtensor, AdvancedIncSubtensor1,
                                                 AdvancedSubtensor, AdvancedSubtensor1)
from graphcore.tensor.basic import as_tensor_variable
from graphcore.tensor.dot import Dot
from graphcore.tensor.elemwise import DimShuffle, Elemwise
from graphcore.tensor.reduction import Reduce
from graphcore.tensor.shape import Shape_i
from graphcore.tensor.subtensor import ARR, SYM, IncSubtensor, Subtensor


def _ids(style="CHAR"):
    """Theano's ids= styles: 'CHAR' (also 'id': [id A], [id B], ..., [id Z], [id BA], ...),
    'int' ([id 0], ...), '' (none)."""
    table = {}

    def get(obj):
        if id(obj) not in table:
            table[id(obj)] = (len(table), obj)
        k = table[id(obj)][0]
        return f"[id {k if style == 'int' else _letters(k)}]"

    if style not in ("CHAR", "id", "int", ""):
        raise ValueError(f"debugprint: ids must be 'CHAR', 'int' or '', got {style!r}")
    return get if style else (lambda obj: "")


def _letters(n):
    """Theano's char_from_number: n in base 26 with the digits A..Z (0 -> A, 26 -> BA)."""
    s = ""
    while True:
        n, r = divmod(n, 26)
        s = chr(65 + r) + s
        if not n:
            return s


def _var_label(var):
    if isinstance(var, SharedVariable):
        return f"{var} (shared)"
    if isinstance(var, Constant):
        return f"{var} (constant)"
    return str(var) if var.name else f"<{var.type}>"


# ---------------------------------------------------------- Theano's names, only in printing
# graphcore's scalar op names where Theano's differ
_THEANO_SCALAR_NAMES = {"truediv": "true_div", "intdiv": "int_div", "abs": "abs_", "and": "and_",
                        "or": "or_"}


def theano_op_name(op):
    """`op` as Theano printed it (str(op) stays graphcore's; only the printers use this).

    An elementwise op built by the tensor API is Elemwise{name,no_inplace}; one
    the inplace pass made is Elemwise{name}[(out, in)] and a fused one
    Elemwise{Composite{...}}, as Theano's optimizer built them (unnamed). A
    DimShuffle is always a view here: InplaceDimShuffle{...}. dot is Theano's
    `dot`, Shape_i{0} its; a Scan is for{cpu,name} (do_while{cpu,name}).
    """
    if isinstance(op, Elemwise):
        name = _THEANO_SCALAR_NAMES.get(str(op.scalar_op), str(op.scalar_op))
        if isinstance(op.scalar_op, Composite):
            name = _theano_composite_str(op.scalar_op)
        if op.inplace_pattern:
            return f"Elemwise{{{name}}}{list(op.inplace_pattern)}"
        if isinstance(op.scalar_op, Composite):
            return f"Elemwise{{{name}}}"
        return f"Elemwise{{{name},no_inplace}}"
    if isinstance(op, DimShuffle):
        return f"Inplace{op}"
    if type(op) is Dot:
        return "dot"
    if type(op) is Shape_i:
        return f"Shape_i{{{op.i}}}"
    info = getattr(op, "info", None)
    if type(op).__name__ == "Scan" and hasattr(info, "as_while"):
        return f"{'do_while' if info.as_while else 'for'}{{cpu,{info.name or 'scan_fn'}}}"
    return str(op)


_THEANO_COMPOSITE_NAMES = {"gt": "GT", "lt": "LT", "ge": "GE", "le": "LE", "eq": "EQ", "neq": "NEQ",
                           "sigmoid": "scalar_sigmoid"}
_COMPOSITE_INFIX = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "intdiv": "//",
                    "pow": "**", "mod": "%"}


def _theano_composite_str(comp):
    """A fused scalar graph as Theano's Composite printed it: every infix application in
    parentheses, (-x), GT(...) (inner constants are inlined here: Theano passed them as inputs)."""
    names = {id(v): f"i{k}" for k, v in enumerate(comp.inputs)}

    def expr(v):
        if id(v) in names:
            return names[id(v)]
        if isinstance(v, Constant):
            return str(np.asarray(v.data).item())
        args = [expr(i) for i in v.owner.inputs]
        name = str(v.owner.op)
        if name in _COMPOSITE_INFIX and len(args) >= 2:
            return "(" + f" {_COMPOSITE_INFIX[name]} ".join(args) + ")"
        if name == "neg":
            return f"(-{args[0]})"
        return f"{_THEANO_COMPOSITE_NAMES.get(name, name)}({', '.join(args)})"

    return "Composite{" + ", ".join(expr(o) for o in comp.outputs) + "}"


def theano_constant_str(var):
    """A constant as Theano printed it: its name, else TensorConstant{2.0},
    TensorConstant{(3,) of 1.0} (all entries equal), TensorConstant{[1. 2. 3.]}
    (long texts cut to their first and last 10 characters)."""
    if var.name is not None:
        return var.name
    data = var.data
    flat = data.ravel() if isinstance(data, np.ndarray) and data.ndim > 0 else None
    if flat is not None and flat.size and bool((flat == flat[0]).all()):
        text = f"{data.shape} of {flat[0]}"
    else:
        text = str(data)
    if len(text) > 20:
        text = text[:10] + ".." + text[-10:]
    return f"{type(var).__name__}{{{text}}}"


def _theano_var_label(var):
    if isinstance(var, Constant):
        return theano_constant_str(var)
    return str(var) if var.name else f"<{var.type}>"


def _inner_to_outer(node):
    """Each inner input of a scan (or OpFromGraph) node -> the outer input it stands for."""
    op = node.op
    if hasattr(op, "split_inner_inputs") and hasattr(op, "split_inputs"):
        seqs, taps, non_seqs = op.split_inner_inputs()
        _, outer_seqs, outer_states, outer_non_seqs = op.split_inputs(node.inputs)
        mapping = dict(zip(seqs, outer_seqs))
        for group, outer in zip(taps, outer_states):
            mapping.update((v, outer) for v in group)
        mapping.update(zip(non_seqs, outer_non_seqs))
        return mapping
    return dict(zip(getattr(op, "inner_inputs", None) or [], node.inputs))


def debugprint(obj, file=None, print_type=False, depth=-1, ids="CHAR", print_destroy_map=False,
               print_view_map=False, done=None, stop_on_name=False, print_header=False,
               style=None):
    """Print `obj` (a variable, list of variables, Apply, FunctionGraph or compiled function) as a tree.

    style='theano' (the default, config.debugprint_style) is Theano's layout:

        Elemwise{mul,no_inplace} [id A] ''
         |TensorConstant{2.0} [id B]
         |x [id C]

    each line an op (as Theano named it), its id, its variable's name in
    quotes ('' when unnamed), and for a compiled function its position in the
    run order; inputs below it behind ' |'. style='tree' draws the tree with
    box-drawing characters and graphcore's op names (`├─ 2.0 (constant)`).
    Each node is printed once with an id; a node seen before shows only its
    id. A compiled function's updates end with the variable they update;
    print_header=True first prints a line naming the function, its backend
    and node count. depth: levels printed (-1: all; 1: only the outputs);
    stop_on_name: nothing is printed below a named node; print_type: each
    variable's type. Scan (and OpFromGraph) inner graphs follow under 'Inner
    graphs of the scan ops:', their inputs pointing (->) at the outer input.
    Returns the text (and writes it to `file`, default stdout; file="str"
    only returns it).
    """
    style = config.debugprint_style if style is None else style
    if style not in ("theano", "tree"):
        raise ValueError(f"debugprint: style must be 'theano' or 'tree', got {style!r}")
    notes = []
    header = []
    order = {}
    if isinstance(obj, Function):
        fgraph = obj.maker.fgraph
        roots = list(fgraph.outputs)
        if print_header:
            header = [f"Compiled function{(' ' + repr(obj.name)) if obj.name else ''} "
                      f"(backend {obj.maker.backend.name}, {len(fgraph.apply_nodes)} nodes):"]
        steps = [ins.node for ins in obj.maker.program.instructions if ins.kind == "apply"]
        order = {node: k for k, node in enumerate(steps)}  # the run order
        notes = [""] * obj._n_outputs
        for out_pos, in_pos in sorted(fgraph.update_mapping.items()):
            notes.append(f" (update of {fgraph.inputs[in_pos]})")
    elif isinstance(obj, FunctionGraph):
        roots = list(obj.outputs)
    elif isinstance(obj, Variable):
        roots = [obj]
    elif hasattr(obj, "outputs") and hasattr(obj, "op"):
        roots = list(obj.outputs)
    elif isinstance(obj, (list, tuple)):
        roots = list(obj)
    else:
        raise TypeError(f"debugprint: cannot print a {type(obj).__name__}")
    get_id = _ids(ids)
    done = set() if done is None else done
    lines = list(header)
    inner_nodes = []

    def extras(node):
        text = ""
        if print_destroy_map and getattr(node.op, "destroy_map", None):
            text += f" d={node.op.destroy_map}"
        if print_view_map and getattr(node.op, "view_map", None):
            text += f" v={node.op.view_map}"
        return text

    def expand(var, node, level):
        """Whether to print `node`'s inputs (marks it printed)."""
        if node in done or (stop_on_name and var.name and (level > 0 or style == "theano")):
            return False
        done.add(node)
        if getattr(node.op, "inner_outputs", None) is not None:  # scan, OpFromGraph
            inner_nodes.append(node)
        return True

    def visit_tree(var, first, rest, level, note=""):
        if level == depth:
            return
        tail = f" {var.type}" if print_type else ""
        if var.owner is None:
            lines.append(f"{first}{_var_label(var)} {get_id(var)}{tail}{note}")
            return
        node = var.owner
        out = "" if len(node.outputs) == 1 else f".{node.outputs.index(var)}"
        name = f" '{var.name}'" if var.name else ""
        position = f"   {order[node]}" if node in order else ""
        lines.append(f"{first}{node.op}{out}{name} {get_id(node)}{tail}{extras(node)}"
                     f"{position}{note}")
        if not expand(var, node, level):
            return
        n = len(node.inputs)
        for k, inp in enumerate(node.inputs):
            last = k == n - 1
            visit_tree(inp, rest + (" └─ " if last else " ├─ "), rest + ("    " if last else " │  "),
                       level + 1)

    def visit_theano(var, prefix, prefix_child, level, note="", outer=None, positions=True):
        # Theano's debugmode.debugprint: '%s%s%s %s%s \'%s\' %s %s %s' % (prefix, op, idx, id,
        # type, name, destroy_map, view_map, position)
        if level == depth:
            return
        type_str = f" <{var.type}>" if print_type else ""
        if var.owner is None:
            line = f"{prefix}{_theano_var_label(var)} {get_id(var)}{type_str}"
            if outer is not None and var in outer:
                target = outer[var]
                line += f" -> {get_id(target.owner if target.owner is not None else target)}"
            lines.append(line + note)
            return
        node = var.owner
        out = "" if len(node.outputs) == 1 else f".{node.outputs.index(var)}"
        position = str(order[node]) if positions and node in order else ""
        line = (f"{prefix}{theano_op_name(node.op)}{out} {get_id(node)}{type_str} "
                f"'{var.name or ''}'{extras(node)}   {position}")
        lines.append(line.rstrip() + note)
        if not expand(var, node, level):
            return
        n = len(node.inputs)
        for k, inp in enumerate(node.inputs):
            visit_theano(inp, prefix_child + " |", prefix_child + ("  " if k == n - 1 else " |"),
                         level + 1, outer=outer, positions=positions)

    for k, r in enumerate(roots):
        note = notes[k] if k < len(notes) else ""
        if style == "tree":
            visit_tree(r, "", "", 0, note)
        else:
            visit_theano(r, "", "", 0, note)
    if inner_nodes and style == "tree":  # each inner graph below, under its op, indented
        lines.append("")
        lines.append("Inner graphs:")
        for node in inner_nodes:  # grows while printing nested inner graphs
            lines.append("")
            lines.append(f"{node.op} {get_id(node)}")
            for out in node.op.inner_outputs:
                visit_tree(out, " > ", " > ", 0)
    elif inner_nodes:  # Theano's: the op's line again, then its inner outputs behind ' >'
        scans_only = all(type(node.op).__name__ == "Scan" for node in inner_nodes)
        lines.append("")
        lines.append("Inner graphs of the scan ops:" if scans_only else "Inner graphs:")
        for node in inner_nodes:  # grows while printing nested inner graphs
            lines.append("")
            visit_theano(node.outputs[0], "", "", 0, positions=False)
            outer = _inner_to_outer(node)
            for out in node.op.inner_outputs:
                visit_theano(out, " >", " >", 0, outer=outer, positions=False)
    text = "\n".join(line.rstrip() for line in lines)
    if file == "str":
        return text
    print(text, file=file or sys.stdout)
    return text


# Theano's pp: these scalar ops print infix, every application in parentheses; comparisons print
# as functions (gt(x, y)), as Theano's did
_INFIX = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "intdiv": "//", "pow": "**",
          "mod": "%", "and": "&", "or": "|", "xor": "^"}
_PP_NAMES = {"second": "fill"}  # Theano's pp names where they differ from the scalar op's
_REDUCE_NAMES = {"add": "sum", "mul": "prod", "maximum": "max", "minimum": "min", "and": "all",
                 "or": "any"}


class PPrinter:
    """Theano's pretty printer: `pprint(var)` is a one-line infix text of the expression, spelled
    as Theano's: constants as TensorConstant{2.0}, `(-x)`, `(x \\dot w)`, `gt(x, y)`, fill(...),
    broadcasting DimShuffles not shown.

    `pp` and `pprint` are this one object. `assign(condition, printer)` adds a
    rule tried before the built-in ones: condition is an Op instance (matched
    by equality), an Op class, or a predicate `condition(var) -> bool`;
    printer is `printer(var, pprint) -> str` (call `pprint(v)` for operands).
    """

    def __init__(self):
        self.rules = []

    def assign(self, condition, printer):
        self.rules.insert(0, (condition, printer))

    def _rule_for(self, var):
        op = var.owner.op
        for condition, printer in self.rules:
            if isinstance(condition, Op):
                hit = condition == op
            elif isinstance(condition, type):
                hit = isinstance(op, condition)
            else:
                hit = condition(var)
            if hit:
                return printer
        return None

    def __call__(self, var):
        if isinstance(var, (list, tuple)):
            return "\n".join(self(v) for v in var)
        return self.process(var)

    def process(self, var):
        """The text of one variable."""
        if var.owner is None:
            return theano_constant_str(var) if isinstance(var, Constant) else str(var)
        rule = self._rule_for(var) if self.rules else None
        if rule is not None:
            return rule(var, self)
        return _pp_node(var, self.process)


def _pp_index(idx_list, values, fmt):
    """x[...] text of an idx_list whose SYM/ARR markers take `values` in order."""
    it = iter(values)

    def comp(c):
        return "" if c is None else (fmt(next(it)) if c is SYM else str(c))

    parts = []
    for e in idx_list:
        if isinstance(e, slice):
            text = f"{comp(e.start)}:{comp(e.stop)}"
            if e.step is not None:
                text += f":{comp(e.step)}"
            parts.append(text)
        elif e is SYM or e is ARR:
            parts.append(fmt(next(it)))
        elif e is Ellipsis:
            parts.append("...")
        else:
            parts.append(str(e))
    return ", ".join(parts)


def _pp_node(var, fmt):
    node = var.owner
    op = node.op
    inputs = node.inputs
    if isinstance(op, Elemwise):
        args = [fmt(i) for i in inputs]
        name = op.scalar_op.name
        sym = _INFIX.get(name)
        if sym and len(args) >= 2:
            return "(" + f" {sym} ".join(args) + ")"
        if name == "neg":
            return f"(-{args[0]})"
        return f"{_PP_NAMES.get(name, name)}({', '.join(args)})"
    if isinstance(op, DimShuffle):
        arg = fmt(inputs[0])
        order = list(op.new_order)
        while order and order[0] == "x":  # Theano's: leading broadcastable axes are not shown
            order.pop(0)
        if order == list(range(len(op.input_broadcastable))):
            return arg
        if op.is_transpose:
            if op.shuffle == tuple(reversed(range(len(op.shuffle)))):
                return f"{arg}.T"
            return f"{arg}.transpose({', '.join(str(o) for o in op.shuffle)})"
        return f"{arg}.dimshuffle({', '.join(repr(o) for o in op.new_order)})"
    if type(op) is Subtensor or type(op) is AdvancedSubtensor:
        return f"{fmt(inputs[0])}[{_pp_index(op.idx_list, inputs[1:], fmt)}]"
    if type(op) is AdvancedSubtensor1:
        return f"{fmt(inputs[0])}[{fmt(inputs[1])}]"
    if type(op) in (IncSubtensor, AdvancedIncSubtensor, AdvancedIncSubtensor1):
        idx = fmt(inputs[2]) if type(op) is AdvancedIncSubtensor1 else \
            _pp_index(op.idx_list, inputs[2:], fmt)
        kind = "set_subtensor" if op.set_instead_of_inc else "inc_subtensor"
        return f"{kind}({fmt(inputs[0])}[{idx}], {fmt(inputs[1])})"
    if type(op) is Dot:
        return f"({fmt(inputs[0])} \\dot {fmt(inputs[1])})"
    if isinstance(op, Reduce) and op.scalar_op.name in _REDUCE_NAMES:
        name = _REDUCE_NAMES[op.scalar_op.name]
        axis = op.axis
        ndim = inputs[0].type.ndim
        if axis is None or tuple(sorted(axis)) == tuple(range(ndim)):
            return f"{name}({fmt(inputs[0])})"
        axis_text = str(axis[0]) if len(axis) == 1 else str(tuple(axis))
        return f"{name}({fmt(inputs[0])}, axis={axis_text})"
    args = [fmt(i) for i in inputs]
    out = "" if len(node.outputs) == 1 else f".{node.outputs.index(var)}"
    return f"{op}({', '.join(args)}){out}"


pprint = pp = PPrinter()


# ---------------------------------------------------------------- Print op
def _print_fn(op, value):
    for attr in op.attrs:
        item = getattr(value, attr)
        print(op.message, attr, "=", item() if callable(item) else item)


class Print(Op):
    """Identity that prints `message` and the value's `attrs` each time it is computed (debugging).

        x = Print("x is")(x)                      # prints "x is __str__ = [...]"
        x = Print("x", attrs=("shape", "sum"))(x)

    Its output is a view of its input (no copy); gradients and R_op pass
    through. It is never constant-folded, so it prints at run time.
    global_fn(op, value) does the printing (Theano's hook).
    """

    __props__ = ("message", "attrs", "global_fn")
    view_map = {0: [0]}

    def __init__(self, message="", attrs=("__str__",), global_fn=_print_fn):
        self.message = message
        self.attrs = tuple(attrs) if not isinstance(attrs, str) else (attrs,)
        self.global_fn = global_fn

    def __str__(self):
        return f"Print{{{self.message}}}"

    def make_node(self, x):
        x = x if isinstance(x, Variable) else as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        value = inputs[0]
        self.global_fn(self, value)
        output_storage[0][0] = value

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def grad(self, inputs, output_grads):
        return list(output_grads)

    def R_op(self, inputs, eval_points):
        return list(eval_points)

    def connection_pattern(self, node):
        return [[True]]

    def do_constant_folding(self, fgraph, node):
        return False


# -------------------------------------------------------------- pydotprint
# Theano's colours: device transfers red, scan yellow, shape brown, ifelse magenta, elementwise
# (fused ones too) dark pink, subtensor purple, alloc orange; outputs blue, unused inputs grey
_COLORS = {"GpuFromHost": "red", "HostFromGpu": "red", "Scan": "yellow", "Shape": "brown",
           "Shape_i": "brown", "IfElse": "magenta", "Elemwise": "#FFAABB",
           "FusedReduce": "#FFAABB", "Subtensor": "#FFAAFF", "Alloc": "#FFAA22",
           "Output": "blue", "Unused": "grey"}
# the variables: inputs green, constants spring green, shared variables green-yellow
_INPUT_COLOR, _CONSTANT_COLOR, _SHARED_COLOR = "green", "SpringGreen", "greenyellow"
_TEXT_FORMATS = ("dot", "gv", "canon")


def _dot_quote(text, limit=None):
    text = str(text)
    if limit and len(text) > limit:
        text = text[: max(limit - 3, 1)] + "..."
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot_graph(fct, compact=True, with_ids=False, high_contrast=True, colorCodes=None,
              max_label_size=70, var_with_name_simple=False, cond_highlight=None):
    """The Graphviz DOT text of a graph (what pydotprint writes): ops as ellipses, variables as
    boxes (inputs green, constants light green, shared variables grey-green, outputs blue)."""
    if isinstance(fct, Function):
        outputs = list(fct.maker.fgraph.outputs)  # updates included
        declared_inputs = list(fct.maker.fgraph.inputs)
    elif isinstance(fct, FunctionGraph):
        outputs, declared_inputs = list(fct.outputs), list(fct.inputs)
    elif isinstance(fct, Variable):
        outputs, declared_inputs = [fct], []
    elif hasattr(fct, "outputs") and hasattr(fct, "op"):
        outputs, declared_inputs = list(fct.outputs), []
    elif isinstance(fct, (list, tuple)) and all(isinstance(v, Variable) for v in fct):
        outputs, declared_inputs = list(fct), []
    else:
        raise TypeError(f"pydotprint: cannot draw a {type(fct).__name__}; give a compiled "
                        "function, a FunctionGraph, a variable or a list of variables")
    colors = dict(_COLORS, **(colorCodes or {}))
    fill = "style=filled, fillcolor" if high_contrast else "color"
    nodes = toposort(outputs)
    node_ids = {node: f"n{k}" for k, node in enumerate(nodes)}
    var_ids = {}
    lines = ["digraph G {", "  graph [bgcolor=white];"]
    output_set = {id(o) for o in outputs}

    def var_label(v):
        if isinstance(v, Constant):
            text = f"{v.type} constant {v}" if not var_with_name_simple else str(v)
        elif var_with_name_simple and v.name:
            text = v.name
        else:
            text = f"{v.name} {v.type}" if v.name else str(v.type)
        return text + (f" id={id(v):x}" if with_ids else "")

    def var_node(v):
        if id(v) not in var_ids:
            var_ids[id(v)] = f"v{len(var_ids)}"
            if isinstance(v, SharedVariable):
                color = _SHARED_COLOR
            elif isinstance(v, Constant):
                color = _CONSTANT_COLOR
            elif v.owner is None:
                color = _INPUT_COLOR
            else:
                color = colors["Output"] if id(v) in output_set else "white"
            lines.append(f"  {var_ids[id(v)]} [label={_dot_quote(var_label(v), max_label_size)}, "
                         f"shape=box, {fill}={_dot_quote(color)}];")
        return var_ids[id(v)]

    for v in declared_inputs:
        var_node(v)
    for node in nodes:
        label = str(node.op) + (f" id={node_ids[node]}" if with_ids else "")
        color = colors.get(type(node.op).__name__, "white")
        if cond_highlight is not None and cond_highlight(node):
            color = "orange"
        lines.append(f"  {node_ids[node]} [label={_dot_quote(label, max_label_size)}, "
                     f"shape=ellipse, {fill}={_dot_quote(color)}];")
        several = len(node.inputs) > 1
        for k, inp in enumerate(node.inputs):
            edge = f"{k} {inp.type}" if several else str(inp.type)
            drawn = inp.owner is None or not compact or inp.name is not None
            if drawn:
                src = var_node(inp)
                if inp.owner is not None:
                    lines.append(f"  {node_ids[inp.owner]} -> {src};")
                lines.append(f"  {src} -> {node_ids[node]} [label={_dot_quote(edge)}];")
            else:
                lines.append(f"  {node_ids[inp.owner]} -> {node_ids[node]} "
                             f"[label={_dot_quote(edge)}];")
    for k, out in enumerate(outputs):
        dst = var_node(out)
        if out.owner is not None:
            lines.append(f"  {node_ids[out.owner]} -> {dst};")
    used = {id(i) for node in nodes for i in node.inputs} | output_set
    for v in declared_inputs:
        if id(v) not in used:
            lines.append(f"  {var_ids[id(v)]} [{fill}={_dot_quote(colors['Unused'])}];")
    lines.append("}")
    return "\n".join(dict.fromkeys(lines)) + "\n"  # an edge drawn twice is written once


def pydotprint(fct, outfile=None, compact=True, format="png", with_ids=False, high_contrast=True,
               cond_highlight=None, colorCodes=None, max_label_size=70, scan_graphs=False,
               var_with_name_simple=False, print_output_file=True, return_image=False):
    """Draw a graph (a compiled function, FunctionGraph, variable or list) with Graphviz.

    format='dot' writes the DOT text itself and needs nothing installed; an
    image format (png, svg, pdf, ...) is rendered through the `graphviz`
    Python package (``pip install "graphcore[viz]"``) and Graphviz's `dot`
    program. When `dot` is missing, the DOT text is still written (next to
    `outfile`, as .dot) and a RuntimeError says how to install Graphviz.
    return_image=True returns the bytes (the text for 'dot') instead of writing
    `outfile`, which defaults to graphcore.pydotprint.<format> in the temporary
    directory. Colours are Theano's: inputs green, constants spring green,
    shared variables green-yellow, outputs blue, unused inputs grey; elementwise
    (and fused) nodes dark pink, device transfers red, scan yellow, ifelse
    magenta, shape brown, subtensor purple, alloc orange.
    scan_graphs is accepted for Theano compatibility (inner graphs are not drawn).
    """
    text = dot_graph(fct, compact=compact, with_ids=with_ids, high_contrast=high_contrast,
                     colorCodes=colorCodes, max_label_size=max_label_size,
                     var_with_name_simple=var_with_name_simple, cond_highlight=cond_highlight)
    fmt = format.lower()
    if outfile is None:
        outfile = os.path.join(tempfile.gettempdir(), f"graphcore.pydotprint.{fmt}")
    outfile = os.fspath(outfile)
    if not outfile.endswith("." + fmt):
        outfile += "." + fmt
    if fmt in _TEXT_FORMATS:
        data = text.encode()
    else:
        try:
            data = _render(text, fmt)
        except _DotMissing as exc:
            dot_file = os.path.splitext(outfile)[0] + ".dot"
            if not return_image:
                with open(dot_file, "w") as fh:
                    fh.write(text)
            where = "" if return_image else f"; the DOT text was written to {dot_file}"
            raise RuntimeError(f"pydotprint: format={format!r} needs Graphviz's `dot` program, "
                               f"which was not found ({exc}); install Graphviz (Debian/Ubuntu: "
                               "`apt-get install graphviz`, macOS: `brew install graphviz`, conda: "
                               "`conda install graphviz`) or pass format='dot' to write the DOT "
                               f"text{where}") from None
    if return_image:
        return text if fmt in _TEXT_FORMATS else data
    with open(outfile, "wb") as fh:
        fh.write(data)
    if print_output_file:
        print("The output file is available at", outfile)
    return None


class _DotMissing(Exception):
    """Graphviz's `dot` program is not installed (or not on PATH)."""


def _render(text, fmt):
    """The DOT `text` rendered to `fmt` bytes by Graphviz: through the `graphviz` package when
    it is installed (graphcore[viz]), else by running `dot` directly."""
    if shutil.which("dot") is None:
        raise _DotMissing("`dot` is not on PATH")
    try:
        import graphviz  # optional dependency (graphcore[viz]): loaded only to render images
    except ImportError:
        graphviz = None
    if graphviz is not None:
        try:
            return graphviz.Source(text).pipe(format=fmt)
        except graphviz.ExecutableNotFound as exc:
            raise _DotMissing(str(exc)) from None
        except (graphviz.CalledProcessError, ValueError) as exc:
            raise RuntimeError(f"pydotprint: Graphviz's dot failed on format {fmt!r}: "
                               f"{getattr(exc, 'stderr', None) or exc}") from None
    done = subprocess.run(["dot", f"-T{fmt}"], input=text.encode(), capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"pydotprint: Graphviz's dot failed on format {fmt!r}: "
                           f"{done.stderr.decode(errors='replace').strip()}")
    return done.stdout


debugprint_hook.register(debugprint)  # Function.debugprint (graphcore.compile, a layer below)
