"""Euclidean step rule (Algorithm 1, eqs. (10) and (12)): params <- params - eta g."""

from numba import njit


@njit(cache=True, error_model="numpy")
def step(params, g, eta):
    rows, units = g.shape
    for c in range(rows):
        for u in range(units):
            params[c, u] -= eta * g[c, u]


@njit(cache=True, error_model="numpy")
def step_readout(phi, x, delta, eta):
    """Eq. (10) with the readout gradient delta_z (1, x) left implicit."""
    units = delta.shape[0]
    for u in range(units):
        phi[0, u] -= eta * delta[u]
    for i in range(x.shape[0]):
        exi = eta * x[i]
        for u in range(units):
            phi[1 + i, u] -= exi * delta[u]
