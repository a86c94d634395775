"""Layer 8: C code generation. The integer network becomes a dependency-free C99 library
(weights and fixed-point parameters as const arrays, one static arena, straight-line op
calls, kernels written by tinykws), and the front-ends become C with tables generated here."""
