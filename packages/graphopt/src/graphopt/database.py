"""What graphopt registers into graphcore's rewrite database, with which tags and phases.

FAST_RUN (tag fast_run) runs everything; FAST_COMPILE (tag fast_compile) runs
merge + constant folding + useless-op removal only. Each phase is one
EquilibriumRewriter whose members can still be excluded by name or tag
(`mode.excluding("constant_folding")`).
"""

from __future__ import annotations

from graphcore.compile.scheduler import register_scheduler

from graphopt.passes import (builders, canonicalize, constant_folding, fusion, inplace, merge,
                             scan, shape, specialize, stabilize, useless)
from graphopt.rewriting.drivers import EquilibriumRewriter
from graphopt.schedule import schedule


def _tagged(rewriter, *tags):
    rewriter.tags = tuple(getattr(rewriter, "tags", ())) + tags
    return rewriter


def build_entries():
    """[(name, rewrite, tags, phase, position)] in the order they are registered."""
    cf = _tagged(constant_folding.constant_folding, "constant_folding")
    useless_rw = [_tagged(r, "useless") for r in useless.REWRITERS] + \
        [_tagged(r, "inline") for r in builders.REWRITERS]  # OpFromGraph(inline=True)
    canon_rw = [_tagged(r, "canonicalize") for r in canonicalize.REWRITERS]
    shape_rw = [_tagged(r, "shape") for r in shape.REWRITERS]
    stab_rw = [_tagged(r, "stabilize") for r in stabilize.REWRITERS + stabilize.nnet_rewriters()]
    spec_rw = [_tagged(r, "specialize") for r in specialize.REWRITERS]

    return [
        ("merge", merge.merge_rewriter, ("fast_run", "fast_compile", "merge"), "merge", None),
        ("simplify", EquilibriumRewriter([cf] + useless_rw, name="simplify"),
         ("fast_compile",), None, 1.0),
        ("canonicalize", EquilibriumRewriter([cf] + useless_rw + shape_rw + canon_rw,
                                             name="canonicalize"),
         ("fast_run",), "canonicalize", None),
        ("scan", EquilibriumRewriter([_tagged(r, "scan") for r in scan.REWRITERS], name="scan"),
         ("fast_run", "scan"), None, 1.5),  # after canonicalize: the hoisted work is optimized on
        ("stabilize", EquilibriumRewriter(stab_rw + [cf] + useless_rw + canon_rw, name="stabilize"),
         ("fast_run",), "stabilize", None),
        ("specialize", EquilibriumRewriter(spec_rw + [cf] + useless_rw, name="specialize"),
         ("fast_run",), "specialize", None),
        ("elemwise_fusion", fusion.fusion_rewriter, ("fast_run", "fusion"), "fusion", None),
        ("reduce_fusion", fusion.reduce_fusion_rewriter, ("fast_run", "fusion"), None, 4.1),
        ("inplace", inplace.inplace_rewriter, ("fast_run", "inplace"), "inplace", None),
    ]


def register(db):
    """Entry point of group graphcore.rewrites: add graphopt's rewrites and its scheduler."""
    for name, rewrite, tags, phase, position in build_entries():
        if name in db:
            continue
        db.register(name, rewrite, *tags, phase=phase, position=position)
    register_scheduler("graphopt", schedule, priority=10)
