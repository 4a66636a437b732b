"""Type: the static description of the values a Variable can hold."""

from __future__ import annotations

from graphcore.graph.basic import Constant, Variable


class Type:
    """Validates and converts run-time values; makes Variables and Constants of itself."""

    variable_type = None  # set by subclasses / tensor module
    constant_type = None

    def filter(self, data, strict=False, allow_downcast=None, name=None):
        """Return `data` converted to a valid value of this type, or raise TypeError (naming `name`)."""
        raise NotImplementedError

    def is_valid_value(self, data):
        try:
            self.filter(data, strict=True)
            return True
        except (TypeError, ValueError):
            return False

    def value_signature(self, data):
        """A hashable key of a value, so equal constants merge."""
        return data

    def constant_str(self, data):
        return repr(data)

    def values_eq(self, a, b):
        return a == b

    def values_eq_approx(self, a, b):
        return self.values_eq(a, b)

    def is_super(self, other):
        """Whether every value valid for `other` is valid for self."""
        return self == other

    def convert_variable(self, var):
        """Return `var` if it can stand where this type is expected, else None."""
        return var if self.is_super(var.type) else None

    def make_variable(self, name=None):
        cls = self.variable_type or Variable
        return cls(self, None, None, name)

    def make_constant(self, value, name=None):
        cls = self.constant_type or Constant
        return cls(self, value, name)

    def __call__(self, name=None):
        return self.make_variable(name)
