"""Numbers: lowering to a straight-line program, compiled evaluation, runtime kernels, codegen."""
