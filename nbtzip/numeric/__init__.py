"""Deterministic numerics for the coding path: exp/log/tanh from + - * / sqrt
(mathfn), the project's PRNG (rng), fixed-order vector sums (lanes)."""
