"""Loops: scan and its views (map, reduce, foldl, foldr), scan_checkpoints, `until`, the Scan op.

    import graphcore as theano
    values, updates = theano.scan(fn, sequences=x, outputs_info=h0, non_sequences=W)
"""

from graphcore.scan.basic import scan, until
from graphcore.scan.checkpoints import scan_checkpoints
from graphcore.scan.op import Scan, ScanInfo
from graphcore.scan.views import foldl, foldr, map, reduce  # noqa: A004

__all__ = ["Scan", "ScanInfo", "foldl", "foldr", "map", "reduce", "scan", "scan_checkpoints", "until"]
