"""Theano's spelling of the scan package: `theano.scan_module.scan`, `theano.scan_module.until`."""

from graphcore.scan import Scan, foldl, foldr, map, reduce, scan, scan_checkpoints, until  # noqa: A004

__all__ = ["Scan", "foldl", "foldr", "map", "reduce", "scan", "scan_checkpoints", "until"]
