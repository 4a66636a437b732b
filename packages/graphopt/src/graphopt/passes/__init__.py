"""The optimizer passes, one module per family (registered into the rewrite DB by graphopt.register)."""
