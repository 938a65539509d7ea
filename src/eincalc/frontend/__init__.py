"""Reading what people write: operators, declarations, einsum, index and matrix text; printing."""
