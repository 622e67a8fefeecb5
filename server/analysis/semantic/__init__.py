"""The semantic diff: both versions' decisions as z3 formulas over one symbolic request."""
