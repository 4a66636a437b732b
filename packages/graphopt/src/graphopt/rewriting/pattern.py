"""Declarative pattern rewrites: a table of `pattern -> replacement`, one rule a line.

A pattern is a nested tuple `(op, arg, ...)`:

- `op` is a ScalarOp class or instance (matches an Elemwise of that scalar op)
  or an Op class (matches any node of that class);
- each `arg` is a pattern, a name (`"x"`: binds any variable; the same name
  twice must bind the same variable) or a number (matches a constant whose
  elements all equal it, including fills and broadcasts of one).

Two-input patterns of commutative scalar ops (add, mul, ...) also match with
their inputs swapped; variadic add/mul patterns match nodes with exactly as
many inputs as the pattern gives. The replacement is a function of the bound
names returning the new variable (built with graphcore.tensor.math), and an
optional `when(**bindings)` guard can refuse a match.
"""

from __future__ import annotations

import inspect

from graphcore.scalar.basic import ScalarOp
from graphcore.tensor.elemwise import Elemwise

from graphopt.rewriting.basic import NodeRewriter, scalar_constant


class PatternRule:
    def __init__(self, pattern, replacement, when=None, name=None):
        self.pattern = pattern
        self.replacement = replacement
        self.when = when
        self.name = name or _pattern_name(pattern)
        self.params = tuple(inspect.signature(replacement).parameters)


def _op_matches(spec, node):
    op = node.op
    if isinstance(spec, type) and issubclass(spec, ScalarOp):
        return type(op) is Elemwise and isinstance(op.scalar_op, spec) and not op.inplace_pattern
    if isinstance(spec, ScalarOp):
        return type(op) is Elemwise and op.scalar_op == spec and not op.inplace_pattern
    if isinstance(spec, type):
        return isinstance(op, spec)
    return op == spec


def match(pattern, var, bindings):
    """Try to match `var` against `pattern`, extending `bindings`; True on success."""
    if isinstance(pattern, str):
        bound = bindings.get(pattern)
        if bound is None:
            bindings[pattern] = var
            return True
        return bound is var
    if isinstance(pattern, (int, float)) and not isinstance(pattern, bool):
        val = scalar_constant(var)
        return val is not None and val == pattern
    if not isinstance(pattern, tuple):
        raise TypeError(f"bad pattern element {pattern!r}")
    node = var.owner
    if node is None or len(node.outputs) != 1 or not _op_matches(pattern[0], node):
        return False
    return match_node(pattern, node, bindings)


def match_node(pattern, node, bindings):
    args = pattern[1:]
    if len(args) != len(node.inputs):
        return False
    snapshot = dict(bindings)
    if all(match(p, v, bindings) for p, v in zip(args, node.inputs)):
        return True
    op = node.op
    if len(args) == 2 and type(op) is Elemwise and op.scalar_op.commutative:
        bindings.clear()
        bindings.update(snapshot)
        if match(args[0], node.inputs[1], bindings) and match(args[1], node.inputs[0], bindings):
            return True
    bindings.clear()
    bindings.update(snapshot)
    return False


def _pattern_name(p):
    if isinstance(p, tuple):
        spec = p[0]
        name = spec.__name__ if isinstance(spec, type) else str(spec)
        return f"{name.lower()}({', '.join(_pattern_name(a) for a in p[1:])})"
    return str(p)


class PatternRewriter(NodeRewriter):
    """A node rewriter applying the first matching rule of a table to a node."""

    def __init__(self, rules, name):
        self.rules = [r if isinstance(r, PatternRule) else PatternRule(*r) for r in rules]
        by_op = {}
        for r in self.rules:
            by_op.setdefault(_track_key(r.pattern[0]), []).append(r)
        self.by_op = by_op
        super().__init__(self._transform, [r.pattern[0] for r in self.rules], name)
        self.applied = {}

    def _transform(self, fgraph, node):
        op = node.op
        if type(op) is Elemwise:
            if op.inplace_pattern:
                return None
            candidates = self.by_op.get(("elemwise", type(op.scalar_op)), ())
        else:
            candidates = []
            for cls in type(op).__mro__:
                candidates = self.by_op.get(cls, ())
                if candidates:
                    break
        for rule in candidates:
            if not _op_matches(rule.pattern[0], node):
                continue
            b = {}
            if not match_node(rule.pattern, node, b):
                continue
            kwargs = {k: b[k] for k in rule.params if k in b}
            if rule.when is not None and not rule.when(**kwargs):
                continue
            new = rule.replacement(**kwargs)
            if new is None:
                continue
            self.applied[rule.name] = self.applied.get(rule.name, 0) + 1
            return [new]
        return None


def _track_key(spec):
    if isinstance(spec, type) and issubclass(spec, ScalarOp):
        return ("elemwise", spec)
    if isinstance(spec, ScalarOp):
        return ("elemwise", type(spec))
    if isinstance(spec, type):
        return spec
    return type(spec)


def pattern_rewriter(name, rules):
    """A PatternRewriter from a list of (pattern, replacement[, when]) rules."""
    return PatternRewriter(rules, name)
