"""Euclidean step rule (Algorithm 1, eqs. (10) and (12)): params <- params - eta g."""

from numba import njit


@njit(cache=True)
def step(params, g, eta):
    rows, units = g.shape
    for c in range(rows):
        for u in range(units):
            params[c, u] -= eta * g[c, u]
