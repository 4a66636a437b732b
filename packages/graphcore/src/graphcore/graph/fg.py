"""FunctionGraph: the mutable graph between fixed inputs and outputs that rewrites edit."""

from __future__ import annotations

from graphcore.graph.basic import Apply, Constant, Variable
from graphcore.graph.replace import clone_get_equiv
from graphcore.graph.traversal import io_toposort


class InconsistencyError(Exception):
    """A feature refused a change to the graph (e.g. an unsafe in-place operation)."""


class MissingInputError(Exception):
    """A graph needs a variable that is neither an input nor a constant."""


class Feature:
    """Listener attached to a FunctionGraph; every hook is optional."""

    def on_attach(self, fgraph):
        pass

    def on_detach(self, fgraph):
        pass

    def on_import(self, fgraph, node, reason):
        pass

    def on_prune(self, fgraph, node, reason):
        pass

    def on_change_input(self, fgraph, node, i, old, new, reason):
        pass

    def validate(self, fgraph):
        pass


class Clients(dict):
    """The `(node, i)` pairs using one variable, in the order they were added.

    Reads like a list (iterate, len, `in`, index, `==` a list); `append` and
    `remove` are O(1). With a list, `remove` scans: pruning the users of a
    variable that thousands of nodes use (a weight in a deep gradient chain)
    made every rewrite cost O(graph) and compilation quadratic.
    """

    __slots__ = ()

    def append(self, client):
        self[client] = None

    def remove(self, client):
        try:
            del self[client]
        except KeyError:
            raise ValueError(f"{client!r} is not a client") from None

    def __getitem__(self, k):
        if isinstance(k, (int, slice)):
            return list(self)[k]
        return dict.__getitem__(self, k)

    def __eq__(self, other):
        if isinstance(other, (list, tuple)):
            return list(self) == list(other)
        return dict.__eq__(self, other)

    def __ne__(self, other):
        return not self == other

    __hash__ = None

    def __repr__(self):
        return repr(list(self))


class FunctionGraph:
    """Inputs, outputs and every Apply node between them, with clients kept up to date.

    `clients[var]` lists `(node, i)` pairs using `var` (a `Clients`); an output
    position is recorded as `("output", i)`. Nodes no longer reachable from the outputs are
    pruned, so dead code disappears as rewrites replace variables.

    The compiler declares what the passes may assume about the graph's inputs
    and outputs in these fields (positions are indices into `inputs` and
    `outputs`; all are constructor arguments, kept by `clone`):

    - `update_mapping`: output position -> the input position whose new value
      it is (a function's updates: the output is stored back into that input).
    - `mutable_inputs`: inputs whose buffers the compiled code may overwrite
      (`In(mutable=True)`).
    - `protected_inputs`: inputs whose buffers must never be overwritten, even
      if listed as mutable (the caller reads them again).
    - `destroyable_by_update`: inputs the chain of nodes computing their own
      update (`update_mapping`) may overwrite in place (shared variables).
    - `backend`: the `graphcore.backends.Backend` the graph is compiled for, or
      None; passes ask it for its limits (e.g. `max_operands`).

    An input may be overwritten when it is mutable and not protected, or on
    its own update's chain when it is destroyable_by_update (graphopt's
    inplace pass proves each case).
    """

    update_mapping: dict[int, int]
    mutable_inputs: set[int]
    protected_inputs: set[int]
    destroyable_by_update: set[int]
    backend: object | None

    def __init__(self, inputs, outputs, features=(), clone=True, update_mapping=None,
                 mutable_inputs=(), protected_inputs=(), destroyable_by_update=(), backend=None):
        if clone:
            equiv = clone_get_equiv(inputs, outputs, copy_inputs=True, copy_orphans=False)
            inputs = [equiv[i] for i in inputs]
            outputs = [equiv[o] for o in outputs]
        self.inputs = []
        self.outputs = list(outputs)
        self.apply_nodes = set()
        self.variables = set()
        self.clients = {}
        self._features = []
        self.update_mapping = dict(update_mapping or {})
        self.mutable_inputs = set(mutable_inputs)
        self.protected_inputs = set(protected_inputs)
        self.destroyable_by_update = set(destroyable_by_update)
        self.backend = backend
        for inp in inputs:
            if inp.owner is not None:
                raise ValueError(f"FunctionGraph input {inp} has an owner; inputs must be roots")
            self.add_input(inp)
        for i, out in enumerate(self.outputs):
            self._import_var(out, reason="init")
            self.clients[out].append(("output", i))
        for feature in features:
            self.attach_feature(feature)

    # -- structure ------------------------------------------------------
    def add_input(self, var):
        if var in self.clients and var in self.inputs:
            return
        self.inputs.append(var)
        self.variables.add(var)
        self.clients.setdefault(var, Clients())

    def _import_var(self, var, reason):
        if var in self.variables:
            return
        if var.owner is not None:
            self._import_node(var.owner, reason)
        elif not isinstance(var, Constant) and var not in self.inputs:
            raise MissingInputError(
                f"{var} (type {var.type}) is needed to compute the outputs but is neither an "
                "input of the graph nor a constant")
        else:
            self.variables.add(var)
            self.clients.setdefault(var, Clients())

    def _new_nodes_for(self, node):
        """`node` and the nodes it needs that are not in the graph yet, inputs first.

        The walk stops at variables already in the graph, so importing a small
        replacement into a large graph costs the size of the replacement.
        """
        order, seen = [], {node}
        stack = [(node, iter(node.inputs))]
        while stack:
            n, pending = stack[-1]
            for inp in pending:
                parent = inp.owner
                if (parent is not None and parent not in seen and inp not in self.variables
                        and parent not in self.apply_nodes):
                    seen.add(parent)
                    stack.append((parent, iter(parent.inputs)))
                    break
            else:
                stack.pop()
                order.append(n)
        return order

    def _import_node(self, node, reason):
        new_nodes = self._new_nodes_for(node)
        for n in new_nodes:
            for inp in n.inputs:
                if inp not in self.variables:
                    if inp.owner is None and not isinstance(inp, Constant) and inp not in self.inputs:
                        raise MissingInputError(
                            f"{inp} (type {inp.type}) is an input of {n} but is neither an input "
                            "of the graph nor a constant")
                    self.variables.add(inp)
                    self.clients.setdefault(inp, Clients())
            self.apply_nodes.add(n)
            for out in n.outputs:
                self.variables.add(out)
                self.clients.setdefault(out, Clients())
            for i, inp in enumerate(n.inputs):
                self.clients[inp].append((n, i))
            self._notify("on_import", n, reason)

    def _prune_if_unused(self, var, reason):
        """Remove `var`'s owner (recursively) once nothing uses any of its outputs."""
        stack = [var]
        while stack:
            v = stack.pop()
            if self.clients.get(v):
                continue
            node = v.owner
            if node is None:
                if v not in self.inputs and v in self.variables:
                    self.variables.discard(v)
                    self.clients.pop(v, None)
                continue
            if node not in self.apply_nodes or any(self.clients.get(o) for o in node.outputs):
                continue
            self.apply_nodes.discard(node)
            for o in node.outputs:
                self.variables.discard(o)
                self.clients.pop(o, None)
            self._notify("on_prune", node, reason)
            for i, inp in enumerate(node.inputs):
                cl = self.clients.get(inp)
                if cl is not None:
                    try:
                        cl.remove((node, i))
                    except ValueError:
                        pass
                    stack.append(inp)

    def change_node_input(self, node, i, new_var, reason=None):
        """Make input `i` of `node` (or output `i` when node == "output") be `new_var`."""
        if node == "output":
            old = self.outputs[i]
            if old is new_var:
                return
            self.outputs[i] = new_var
        else:
            old = node.inputs[i]
            if old is new_var:
                return
            node.inputs[i] = new_var
        self._import_var(new_var, reason)
        self.clients[new_var].append((node, i))
        self.clients[old].remove((node, i))
        self._notify("on_change_input", node, i, old, new_var, reason)
        self._prune_if_unused(old, reason)

    def replace(self, var, new_var, reason=None, verbose=False, import_missing=False):
        """Make every user of `var` use `new_var` instead (types must be compatible)."""
        if var is new_var:
            return
        if var.type != new_var.type:
            converted = var.type.convert_variable(new_var)
            if converted is None:
                raise TypeError(
                    f"cannot replace {var} (type {var.type}) with {new_var} (type {new_var.type})"
                    f"{' in ' + str(reason) if reason else ''}")
            new_var = converted
        if var not in self.variables:
            return
        self._keep_trace(var, new_var)
        for node, i in list(self.clients[var]):
            self.change_node_input(node, i, new_var, reason)

    def replace_all(self, pairs, reason=None):
        for old, new in pairs:
            self.replace(old, new, reason=reason)

    def replace_validate(self, var, new_var, reason=None):
        """Replace, then ask every feature to validate; undo and raise if one refuses."""
        self.replace_all_validate([(var, new_var)], reason)

    def replace_all_validate(self, pairs, reason=None):
        undo = []
        listener = _ChangeRecorder(undo)
        self._features.append(listener)
        try:
            for old, new in pairs:
                self.replace(old, new, reason=reason)
            self.validate()
        except Exception:
            self._features.remove(listener)
            for node, i, old, new in reversed(undo):
                self.change_node_input(node, i, old, reason="revert")
            raise
        self._features.remove(listener)

    @staticmethod
    def _keep_trace(old, new):
        """A replacement keeps pointing at the user line that built the node it replaces."""
        if new.owner is not None and old.owner is not None:
            if not getattr(new.owner.tag, "trace", None):
                new.owner.tag.trace = getattr(old.owner.tag, "trace", ())

    # -- features -------------------------------------------------------
    def attach_feature(self, feature):
        if feature in self._features:
            return
        self._features.append(feature)
        feature.on_attach(self)

    def remove_feature(self, feature):
        self._features.remove(feature)
        feature.on_detach(self)

    @property
    def features(self):
        return list(self._features)

    def _notify(self, hook, *args):
        for f in self._features:
            getattr(f, hook, _noop)(self, *args)

    def validate(self):
        for f in self._features:
            f.validate(self)

    # -- queries --------------------------------------------------------
    def toposort(self):
        """Apply nodes in a valid execution order."""
        return io_toposort(self.inputs, self.outputs)

    def orphans(self):
        return [v for v in self.variables if v.owner is None and v not in self.inputs]

    def check_integrity(self):
        nodes = set(io_toposort(self.inputs, self.outputs))
        if nodes != self.apply_nodes:
            raise AssertionError("FunctionGraph apply_nodes out of sync with the graph")
        for node in nodes:
            for i, inp in enumerate(node.inputs):
                if (node, i) not in self.clients.get(inp, ()):
                    raise AssertionError(f"missing client ({node}, {i}) of {inp}")

    def clone(self, check_integrity=True):
        return self.clone_get_equiv()[0]

    def clone_get_equiv(self):
        equiv = clone_get_equiv(self.inputs, self.outputs, copy_inputs=True, copy_orphans=False)
        new = FunctionGraph([equiv[i] for i in self.inputs], [equiv[o] for o in self.outputs],
                            clone=False, update_mapping=self.update_mapping,
                            mutable_inputs=self.mutable_inputs,
                            protected_inputs=self.protected_inputs,
                            destroyable_by_update=self.destroyable_by_update, backend=self.backend)
        return new, equiv

    def __str__(self):
        return f"FunctionGraph({', '.join(map(str, self.outputs))})"


def _noop(*args):
    return None


class _ChangeRecorder(Feature):
    def __init__(self, log):
        self.log = log

    def on_change_input(self, fgraph, node, i, old, new, reason):
        if reason != "revert":
            self.log.append((node, i, old, new))


__all__ = ["FunctionGraph", "Clients", "Feature", "InconsistencyError", "MissingInputError", "Apply", "Variable"]
