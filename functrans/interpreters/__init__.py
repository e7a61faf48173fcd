"""Interpreters: one module per transformation (tracing to the IR, and later
jvp, linearize/transpose, vmap, lowering to StableHLO, and xla)."""
