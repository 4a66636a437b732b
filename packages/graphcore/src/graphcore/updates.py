"""Theano's `theano.updates.OrderedUpdates`: an ordered {shared variable: new value} dict."""

from __future__ import annotations

import warnings
from collections import OrderedDict

from graphcore.graph.shared import SharedVariable


class OrderedUpdates(OrderedDict):
    """Updates for function(updates=...): keys must be shared variables; adding two sets of
    updates (`u1 + u2`) that update the same variable is an error."""

    def __init__(self, *key, **kwargs):
        if len(key) >= 1 and isinstance(key[0], dict) and len(key[0]) > 1 \
                and not isinstance(key[0], OrderedDict):
            warnings.warn("OrderedUpdates from an unordered dict: the update order is undefined",
                          stacklevel=2)
        super().__init__(*key, **kwargs)
        for k in self:
            self._check(k)

    @staticmethod
    def _check(key):
        if not isinstance(key, SharedVariable):
            raise TypeError(f"OrderedUpdates: the key {key!r} is not a shared variable")

    def __setitem__(self, key, value):
        self._check(key)
        super().__setitem__(key, value)

    def update(self, other=None, **kwargs):
        if other is None:
            return
        for key, val in OrderedDict(other).items():
            if key in self:
                if self[key] is val:
                    continue
                raise KeyError(f"OrderedUpdates: {key} is updated twice")
            self[key] = val

    def __add__(self, other):
        out = OrderedUpdates()
        out.update(self)
        out.update(other)
        return out

    def __radd__(self, other):
        out = OrderedUpdates()
        out.update(other)
        out.update(self)
        return out


__all__ = ["OrderedUpdates"]
