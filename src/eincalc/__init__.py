"""eincalc: tensor calculus in einsum/index notation."""
