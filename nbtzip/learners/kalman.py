"""Quasi-diagonal (QD) Kalman step rule: eqs. (20)-(26) of Algorithm 2.

Parameters come in groups, one group per unit (a column of `theta` or `phi`);
row 0 of a group is the unit's bias, rows c >= 1 its incoming weights. Per group
the inverse covariance J keeps only M00, M0c and Mcc (ALGORITHMS.md section 1):

    J00[u], J0k[c, u], Jkk[c, u]        (row 0 of J0k / Jkk is unused)

The regulariser Lambda = lam * I is added at solve time (eqs. (24), (26)) and is
never decayed. The QD solve of g is

    D_c   = M00 Mcc - M0c^2                         (M00, Mcc with lam added)
    Delta_c = (M00 g_c - M0c g_0) / D_c             c >= 1
    Delta_0 = (g_0 - sum_c M0c Delta_c) / M00

which is the exact inverse of the dense matrix M~ with M~_jk = M0j M0k / M00 for
j != k. Every loop below runs across units in the inner position, so each sum
over c keeps its natural order while the work vectorises across units.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def decay_add_outer(J00, J0k, Jkk, g, keep):
    """Eq. (25) with the outer-product Fisher: J <- keep * J + QD(g g^T), per group."""
    rows, units = g.shape
    for u in range(units):
        J00[u] = keep * J00[u] + g[0, u] * g[0, u]
    for c in range(1, rows):
        for u in range(units):
            J0k[c, u] = keep * J0k[c, u] + g[0, u] * g[c, u]
            Jkk[c, u] = keep * Jkk[c, u] + g[c, u] * g[c, u]


@njit(cache=True)
def decay_add_readout(J00, J0k, Jkk, x, weight, keep):
    """Eq. (23) for the readout: J_z <- keep * J_z + weight_z * QD((1, x)(1, x)^T).

    All output units share the activity x = a(t); the Fisher information of
    logit z is weight_z (p_z (1 - p_z) / ln^2 2 exact, or delta_z^2 for the
    outer-product approximation).
    """
    units = weight.shape[0]
    for u in range(units):
        J00[u] = keep * J00[u] + weight[u]
    for i in range(x.shape[0]):
        xi = x[i]
        xi2 = xi * xi
        c = 1 + i
        for u in range(units):
            J0k[c, u] = keep * J0k[c, u] + weight[u] * xi
            Jkk[c, u] = keep * Jkk[c, u] + weight[u] * xi2


@njit(cache=True)
def prepare(J00, J0k, Jkk, lam, m00, inv_d):
    """Add Lambda and precompute 1 / D_c, shared by every solve of this step."""
    rows, units = J0k.shape
    for u in range(units):
        m00[u] = J00[u] + lam
    for c in range(1, rows):
        for u in range(units):
            inv_d[c, u] = 1.0 / (m00[u] * (Jkk[c, u] + lam) - J0k[c, u] * J0k[c, u])


@njit(cache=True)
def solve_step(m00, J0k, inv_d, g, params, acc):
    """params <- params - QDsolve(g): eqs. (24) and (26)."""
    rows, units = g.shape
    for u in range(units):
        acc[u] = 0.0
    for c in range(1, rows):
        for u in range(units):
            step = (m00[u] * g[c, u] - J0k[c, u] * g[0, u]) * inv_d[c, u]
            acc[u] += J0k[c, u] * step
            params[c, u] -= step
    for u in range(units):
        params[0, u] -= (g[0, u] - acc[u]) / m00[u]


@njit(cache=True)
def dual_norm_sq(m00, J0k, inv_d, g, acc_j, acc_g):
    """g^T QDsolve(g) = ||g||^2 in the metric (J + Lambda)^-1, summed over groups."""
    rows, units = g.shape
    for u in range(units):
        acc_j[u] = 0.0
        acc_g[u] = 0.0
    for c in range(1, rows):
        for u in range(units):
            step = (m00[u] * g[c, u] - J0k[c, u] * g[0, u]) * inv_d[c, u]
            acc_j[u] += J0k[c, u] * step
            acc_g[u] += g[c, u] * step
    total = 0.0
    for u in range(units):
        total += g[0, u] * (g[0, u] - acc_j[u]) / m00[u] + acc_g[u]
    return total


@njit(cache=True)
def column_coupling(J0k, inv_d, out):
    """S_u = sum_c M0c^2 / D_c, the part of a solve that a sparse g cannot skip."""
    rows, units = J0k.shape
    for u in range(units):
        out[u] = 0.0
    for c in range(1, rows):
        for u in range(units):
            out[u] += J0k[c, u] * J0k[c, u] * inv_d[c, u]


def dense_matrix(m00, m0k, mkk):
    """The dense M~ whose exact inverse the QD solve applies (for tests; numpy, not jitted)."""
    size = m0k.shape[0] + 1
    full = np.empty((size, size))
    full[0, 0] = m00
    full[0, 1:] = m0k
    full[1:, 0] = m0k
    full[1:, 1:] = np.outer(m0k, m0k) / m00
    full[np.arange(1, size), np.arange(1, size)] = mkk
    return full
