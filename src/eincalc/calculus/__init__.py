"""Differentiation (one reverse pass), simplification rules, Hessians."""
