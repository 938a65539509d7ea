"""The matrix-notation view of an index-form expression: trees, algebra, recognition, renderers."""
