"""Composite: a scalar op made of a small graph of scalar ops (what elementwise fusion builds).

Structure (kept deliberately simple so a runtime can compile it to bytecode):

- ``inputs``: the inner inputs, owner-less 0-d TensorVariables ``i0, i1, ...``;
- ``nodes``: the inner Apply nodes in topological order; each node's op is a
  ScalarOp (never another Composite: nested composites are inlined on
  construction) and each of its inputs is one of ``inputs``, an output of an
  earlier node in ``nodes``, or a 0-d Constant (``.data`` holds the value);
- ``outputs``: the inner variables the op returns (an inner input or a node
  output; several outputs are allowed).

Two Composites are equal when their graphs are structurally identical (same
ops in the same order wired the same way, same input dtypes, same constants),
so two identical fused nodes merge. ``impl`` evaluates the inner graph with
NumPy, node by node, which is the reference semantics every runtime matches.
"""

from __future__ import annotations

import numpy as np

from graphcore.graph.basic import Constant
from graphcore.graph.replace import clone_get_equiv, clone_replace
from graphcore.graph.traversal import io_toposort
from graphcore.scalar.basic import ScalarOp

# How an infix operator prints in a Composite's name.
_INFIX = {"add": "+", "mul": "*", "sub": "-", "true_div": "/", "truediv": "/", "pow": "**",
          "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "eq": "==", "neq": "!="}


class Composite(ScalarOp):
    """A ScalarOp computing `outputs` from `inputs` through the inner scalar graph `nodes`."""

    dtype_rule = "composite"

    def __init__(self, inputs, outputs):
        inputs, outputs = list(inputs), list(outputs)
        for v in inputs:
            if v.owner is not None or v.type.ndim != 0:
                raise TypeError(f"Composite: inner input {v} must be an owner-less 0-d variable")
        equiv = clone_get_equiv(inputs, outputs, copy_inputs=True, copy_orphans=False)
        self.inputs = [equiv[v] for v in inputs]
        self.outputs = [equiv[v] for v in outputs]
        self._inline_nested()
        self.nodes = io_toposort(self.inputs, self.outputs)
        in_set = set(map(id, self.inputs))
        for node in self.nodes:
            if not isinstance(node.op, ScalarOp):
                raise TypeError(f"Composite: inner node {node} is not a scalar op")
            for v in node.inputs:
                if v.owner is None and id(v) not in in_set and not isinstance(v, Constant):
                    raise ValueError(f"Composite: {v} is used by {node} but is not an inner input")
            for v in node.inputs + node.outputs:
                if v.type.ndim != 0:
                    raise TypeError(f"Composite: inner variable {v} of {node} is not 0-d")
        self.nin = len(self.inputs)
        self.nout = len(self.outputs)
        self.input_dtypes = tuple(v.type.dtype for v in self.inputs)
        self.output_dtype_list = tuple(v.type.dtype for v in self.outputs)
        self._key = self._structure_key()
        self._hash = hash(self._key)
        self._name = None

    def _inline_nested(self):
        """Replace inner nodes whose op is itself a Composite by its graph."""
        nested = [n for n in io_toposort(self.inputs, self.outputs) if isinstance(n.op, Composite)]
        if not nested:
            return
        subst = {}
        for node in nested:
            inner = node.op
            outs = clone_replace(inner.outputs, dict(zip(inner.inputs, node.inputs)))
            subst.update(zip(node.outputs, outs))
        self.outputs = clone_replace(self.outputs, subst) if subst else self.outputs
        self._inline_nested()

    # -- identity ---------------------------------------------------------
    def _structure_key(self):
        ref = {id(v): ("i", k) for k, v in enumerate(self.inputs)}

        def r(v):
            got = ref.get(id(v))
            if got is not None:
                return got
            if isinstance(v, Constant):
                return ("c", v.type.dtype, np.asarray(v.data).tobytes())
            raise ValueError(f"Composite: {v} is not reachable from the inner inputs")

        items = []
        for k, node in enumerate(self.nodes):
            items.append((node.op, tuple(r(v) for v in node.inputs)))
            for j, o in enumerate(node.outputs):
                ref[id(o)] = ("n", k, j)
        return (self.input_dtypes, tuple(items), tuple(r(v) for v in self.outputs))

    def __eq__(self, other):
        return type(other) is type(self) and (self is other or (self._hash == other._hash
                                                                 and self._key == other._key))

    def __hash__(self):
        return self._hash

    def __getstate__(self):
        d = dict(self.__dict__)
        d.pop("_key", None)
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        self._key = self._structure_key()

    # -- printing ---------------------------------------------------------
    @property
    def name(self):
        if self._name is None:
            self._name = "Composite{" + ", ".join(self._expr(o) for o in self.outputs) + "}"
        return self._name

    def __str__(self):
        return self.name

    def _expr(self, v, depth=0):
        for k, i in enumerate(self.inputs):
            if i is v:
                return f"i{k}"
        if isinstance(v, Constant):
            return str(np.asarray(v.data).item())
        node = v.owner
        if depth > 8:
            return "..."
        args = [self._expr(i, depth + 1) for i in node.inputs]
        op = node.op
        opname = op.name
        sym = _INFIX.get(opname)
        if sym and len(args) >= 2:
            text = f" {sym} ".join(args)
            return text if depth == 0 else f"({text})"
        if opname == "neg" and len(args) == 1:
            return f"-{args[0]}"
        name = str(op)
        return f"{name}({', '.join(args)})"

    # -- types --------------------------------------------------------------
    def output_dtypes(self, *dtypes):
        if len(dtypes) != self.nin:
            raise TypeError(f"{self}: expected {self.nin} inputs, got {len(dtypes)}")
        for k, (got, want) in enumerate(zip(dtypes, self.input_dtypes)):
            if np.dtype(got).name != want:
                raise TypeError(f"{self}: input {k} must have dtype {want}, got {got}")
        return self.output_dtype_list

    def compute_dtype(self, *dtypes):
        return None

    # -- the reference computation ------------------------------------------
    def impl(self, *values):
        env = {id(v): x for v, x in zip(self.inputs, values)}
        for node in self.nodes:
            args = []
            for v in node.inputs:
                x = env.get(id(v))
                if x is None:
                    x = np.asarray(v.data)
                args.append(x)
            res = node.op.compute(args, [o.type.dtype for o in node.outputs])
            for o, x in zip(node.outputs, res):
                env[id(o)] = x
        outs = []
        seen = {id(v) for v in values}
        for o in self.outputs:
            x = env.get(id(o))
            x = np.asarray(o.data) if x is None else x
            # every output gets its own buffer: an inner op that passes its input through
            # (identity, a one-input add) must not make two outputs, or an output and an
            # input, share memory (an in-place consumer of one would change the other)
            if id(x) in seen:
                x = np.array(x, copy=True)
            seen.add(id(x))
            outs.append(x)
        return outs[0] if self.nout == 1 else tuple(outs)

    def grad(self, inputs, output_grads):
        raise NotImplementedError(
            f"{self}: Composite has no gradient; it is built by elementwise fusion, which runs "
            "after gradients are taken. Take gradients of the unfused graph instead.")

    def L_op(self, inputs, outputs, output_grads):
        return self.grad(inputs, output_grads)
