"""Theano's `theano.compile.pfunc`: function() under its older name (params are inputs)."""

from __future__ import annotations

from graphcore.compile.function import function
from graphcore.compile.io import In


def pfunc(params, outputs=None, mode=None, updates=None, givens=None, no_default_updates=False,
          accept_inplace=False, name=None, rebuild_strict=True, allow_input_downcast=None,
          profile=None, on_unused_input=None, output_keys=None):
    """Compile `outputs` from `params` (Variables or In): function() with Theano's pfunc
    signature. `output_keys` names the outputs: the call returns a dict."""
    if output_keys is not None:
        outputs = dict(zip(output_keys, outputs))
    return function(params, outputs, mode=mode, updates=updates, givens=givens,
                    no_default_updates=no_default_updates, accept_inplace=accept_inplace,
                    name=name, rebuild_strict=rebuild_strict,
                    allow_input_downcast=allow_input_downcast, profile=profile,
                    on_unused_input=on_unused_input)


Param = In  # Theano's older name for In

__all__ = ["pfunc", "Param"]
