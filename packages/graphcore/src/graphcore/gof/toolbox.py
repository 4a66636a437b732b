"""Theano's `theano.gof.toolbox`: FunctionGraph features.

graphcore's FunctionGraph validates replacements itself (`replace_validate`),
so ReplaceValidate is a Feature with nothing to add; attaching it, as Theano
code does before calling `fgraph.replace_validate`, keeps working.
"""

from graphcore.graph import Feature  # noqa: F401


class ReplaceValidate(Feature):
    """Theano's feature giving fgraph.replace_validate; graphcore's FunctionGraph has it."""


class PreserveNames(Feature):
    """A replacement variable without a name takes the replaced one's."""

    def on_change_input(self, fgraph, node, i, old, new, reason=None):
        if old.name is not None and new.name is None:
            new.name = old.name
