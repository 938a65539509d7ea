"""Explained derivations, the gate-level computational graph they draw, and their renderers."""
