"""graphopt: the graphcore optimizer.

Rewrite engine, optimization passes (merge, constant folding, canonicalize,
stabilize, specialize, fusion, inplace) and the scheduler that turns an
optimized graph into a Program. graphcore finds it through the
``graphcore.rewrites`` entry point, never by importing it directly.
"""

__version__ = "1.0.0"

__all__ = ["__version__", "register"]


def register(db):
    """Entry point of group graphcore.rewrites: adds graphopt's rewrites to the rewrite database.

    ``db`` is graphcore's tagged rewrite database. graphcore calls this once,
    the first time it builds an optimizer, so importing graphopt stays free of
    work. It does nothing yet: the passes are registered here as they land.
    """
    return None
