"""The rewrite engine: node rewriters, pattern tables, graph rewriters and drivers."""

from graphopt.rewriting.basic import (NodeRewriter, RewriterIndex, fit_replacement,  # noqa: F401
                                      node_rewriter, scalar_constant)
from graphopt.rewriting.drivers import (EquilibriumRewriter, FunctionGraphRewriter,  # noqa: F401
                                        GraphRewriter, SequenceRewriter, WalkingRewriter,
                                        as_graph_rewriter, graph_rewriter)
from graphopt.rewriting.pattern import PatternRewriter, PatternRule, match, pattern_rewriter  # noqa: F401
