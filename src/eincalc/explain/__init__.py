"""Explained derivations and their renderers."""
