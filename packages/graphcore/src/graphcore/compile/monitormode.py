"""MonitorMode: call user functions before and after every node runs (Theano's debugging mode).

    def detect_nan(i, node, fn):
        for output in fn.outputs:
            if np.isnan(output[0]).any():
                print("*** NaN detected ***", node)

    f = theano.function([x], T.log(x) * x, mode=MonitorMode(post_func=detect_nan))

`pre_func(i, node, fn)` and `post_func(i, node, fn)` get the position of the
node in the execution order, the Apply node, and `fn`, whose `inputs` and
`outputs` are lists of one-element lists holding the values (Theano's storage
cells; `outputs` hold None in pre_func). A function of four parameters is
called as `(fgraph, i, node, fn)` (the later spelling). The program runs on
the python reference backend, node by node, so it is slow. The optimizer is
FAST_RUN's unless `optimizer=` says otherwise; `.excluding('fusion',
'inplace')` keeps the nodes as written.

The reference interpreter reports each node once it has run: `pre_func` is
called then, with the node's input values (unchanged, as nothing overwrites an
input before the node that reads it), immediately before `post_func`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from graphcore.backends.python import PythonExecutable
from graphcore.compile.mode import Mode


class NodeCells:
    """What pre_func/post_func get as `fn`: the node's values in one-element lists."""

    __slots__ = ("inputs", "outputs")

    def __init__(self, inputs, outputs):
        self.inputs = [[v] for v in inputs]
        self.outputs = [[v] for v in outputs]


def _caller(func: Callable | None) -> Callable | None:
    """func as a callable of (fgraph, i, node, fn), whatever of the two spellings it takes."""
    if func is None:
        return None
    try:
        params = [p for p in inspect.signature(func).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        four = len(params) >= 4
    except (TypeError, ValueError):
        four = False
    return func if four else (lambda fgraph, i, node, fn: func(i, node, fn))


class MonitorMode(Mode):
    """A Mode calling `pre_func` and `post_func` around every node (see the module docstring)."""

    def __init__(self, pre_func: Callable | None = None, post_func: Callable | None = None,
                 optimizer: Any = "default", linker: Any = None) -> None:
        super().__init__(linker="python", optimizer=optimizer, name="MonitorMode")
        self.pre_func = pre_func
        self.post_func = post_func

    def link(self, maker, backend, program):
        pre, post = _caller(self.pre_func), _caller(self.post_func)
        position = {ins.node: k for k, ins in enumerate(i for i in program.instructions
                                                        if i.kind == "apply")}
        fgraph = program.fgraph

        def step(node, inputs, outputs):
            i = position.get(node, -1)
            if pre is not None:
                pre(fgraph, i, node, NodeCells(inputs, [None] * len(outputs)))
            if post is not None:
                post(fgraph, i, node, NodeCells(inputs, outputs))

        return PythonExecutable(program, after_step=step)

    def __repr__(self) -> str:
        return f"MonitorMode(pre_func={self.pre_func!r}, post_func={self.post_func!r})"


__all__ = ["MonitorMode", "NodeCells"]
