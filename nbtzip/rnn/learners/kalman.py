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

from collections import namedtuple

import numpy as np
from numba import njit

# The accumulated metric of a set of groups: J00[u], J0k[c, u], Jkk[c, u] as
# above, and m00[u] = J00[u] + lam as the last step left it.
QDMetric = namedtuple("QDMetric", ["J00", "J0k", "Jkk", "m00"])
# A gradient handed over in parts: scale * direction + the sparse rows (step_outer).
GradientParts = namedtuple("GradientParts", ["direction", "scale", "sparse", "sparse_row"])
# Per-unit scratch of step_outer: the solve's sum, g's row 0, the direction's norm sum.
Scratch = namedtuple("Scratch", ["acc", "g0", "acc_dir"])


def new_metric(rows, units):
    z = np.zeros
    return QDMetric(z(units), z((rows, units)), z((rows, units)), z(units))


def new_scratch(units):
    return Scratch(np.zeros(units), np.zeros(units), np.zeros(units))


@njit(cache=True, error_model="numpy")
def step_outer(metric, params, grad, keep, lam, dirs, dir_sq, inv_tail, scratch):
    """Eqs. (25)-(26) with the outer-product Fisher, in one pass over the groups:

    J <- keep * J + QD(g g^T);  params <- params - QDsolve(J + Lambda, g).

    The gradient comes in parts so that NoBackTrack never writes it out (one
    pass over theta fewer): grad is GradientParts, g = scale * direction + S,
    where S is zero except, when sparse has rows, sparse[0] in row 0 and in
    row sparse_row, and sparse[1:] in the last len(sparse) - 1 rows (the shape
    of H . w_i, network.add_param_jacobian). Each entry is formed as
    scale * direction + S, one rounding per operation, so a caller holding a
    finished g passes (g, 1.0, no sparse rows, 0) and gets the same bits.

    Also leaves what the NoBackTrack reduction needs from the updated metric:
    metric.m00 = M00 + lam and dir_sq[m] = pair_norm_sq of dirs[m] (the first
    direction inside this pass, any others in a pass of their own). dirs may
    have no rows (the pass then measures the direction and throws the number
    away, which keeps one loop body). inv_tail keeps 1 / D_c of the last
    len(inv_tail) rows (NoBackTrack's sparse w_i norms read them instead of
    dividing again).
    """
    J00, J0k, Jkk, m00 = metric
    gdir, gscale, sparse, sparse_row = grad
    acc, g0, acc_dir = scratch
    rows, units = gdir.shape
    nsparse = sparse.shape[0]
    sparse_start = rows - (nsparse - 1) if nsparse > 0 else rows
    ndirs = dirs.shape[0]
    d = dirs[0] if ndirs > 0 else gdir
    tail_start = rows - inv_tail.shape[0]
    for u in range(units):
        g0[u] = gscale * gdir[0, u]
    if nsparse > 0:
        for u in range(units):
            g0[u] += sparse[0, u]
    for u in range(units):
        J00[u] = keep * J00[u] + g0[u] * g0[u]
        m00[u] = J00[u] + lam
        acc[u] = 0.0
        acc_dir[u] = 0.0
    # Four copies of one loop, so that none of them tests anything per entry
    # (vectorised, the tests cost ~10 % of the pass).
    for c in range(1, rows):
        k = -1
        if nsparse > 0 and c == sparse_row:
            k = 0
        elif c >= sparse_start:
            k = c - sparse_start + 1
        kept = c - tail_start
        if k >= 0 and kept >= 0:
            for u in range(units):
                gc = gscale * gdir[c, u] + sparse[k, u]
                inv_tail[kept, u] = _cell(
                    c, u, gc, J0k, Jkk, params, g0, m00, acc, acc_dir, d, keep, lam
                )
        elif k >= 0:
            for u in range(units):
                gc = gscale * gdir[c, u] + sparse[k, u]
                _cell(c, u, gc, J0k, Jkk, params, g0, m00, acc, acc_dir, d, keep, lam)
        elif kept >= 0:
            for u in range(units):
                gc = gscale * gdir[c, u]
                inv_tail[kept, u] = _cell(
                    c, u, gc, J0k, Jkk, params, g0, m00, acc, acc_dir, d, keep, lam
                )
        else:
            for u in range(units):
                gc = gscale * gdir[c, u]
                _cell(c, u, gc, J0k, Jkk, params, g0, m00, acc, acc_dir, d, keep, lam)
    for u in range(units):
        params[0, u] -= (g0[u] - acc[u]) / m00[u]
    if ndirs > 0:
        dir_sq[0] = _finish_pair_norm(m00, d, acc_dir)
    for m in range(1, ndirs):
        dir_sq[m] = pair_norm_sq(m00, J0k, Jkk, lam, dirs[m], acc_dir)


@njit(cache=True, error_model="numpy", inline="always")
def _cell(c, u, gc, J0k, Jkk, params, g0, m00, acc, acc_dir, d, keep, lam):
    """One weight of step_outer: its J entries, its step, its share of the sums; returns 1 / D_c."""
    j0 = keep * J0k[c, u] + g0[u] * gc
    jk = keep * Jkk[c, u] + gc * gc
    J0k[c, u] = j0
    Jkk[c, u] = jk
    invd = 1.0 / (m00[u] * (jk + lam) - j0 * j0)
    step = (m00[u] * gc - j0 * g0[u]) * invd
    acc[u] += j0 * step
    params[c, u] -= step
    acc_dir[u] += d[c, u] * d[c, u] * invd
    return invd


@njit(cache=True, error_model="numpy")
def pair_norm_sq(m00, J0k, Jkk, lam, w, acc):
    """||w||^2 = sum over groups of w_0^2 / M00 + sum_c w_c^2 M00 / D_c.

    Each term is w's square in the inverse of one (bias, weight) 2x2 block of
    the metric (J + Lambda): M00 / D_c is that inverse's (c, c) entry. It is
    the QD dual norm without the cross terms between weights (dual_norm_sq
    below has them), and it is what NoBackTrack's reduction uses to scale its
    pairs: rho only trades variance, and this one costs two operations per
    weight where the full dual norm costs eight (nbt.py).
    """
    rows, units = w.shape
    for u in range(units):
        acc[u] = 0.0
    for c in range(1, rows):
        for u in range(units):
            invd = 1.0 / (m00[u] * (Jkk[c, u] + lam) - J0k[c, u] * J0k[c, u])
            acc[u] += w[c, u] * w[c, u] * invd
    return _finish_pair_norm(m00, w, acc)


@njit(cache=True, error_model="numpy")
def _finish_pair_norm(m00, w, acc):
    total = 0.0
    for u in range(m00.shape[0]):
        total += w[0, u] * w[0, u] / m00[u] + m00[u] * acc[u]
    return total


@njit(cache=True, error_model="numpy")
def step_readout(metric, phi, x, weight, delta, keep, lam, acc):
    """Eqs. (23)-(24) for the readout, one pass.

    Every output unit z sees the same activity (1, x) with x = a(t), its
    gradient is delta_z (1, x) and its Fisher information weight_z
    (p_z (1 - p_z) / ln^2 2 exact, or delta_z^2 for the outer product):
    J_z <- keep * J_z + weight_z QD((1, x)(1, x)^T); phi_z <- phi_z - QDsolve(J_z + Lambda, g_z).
    """
    J00, J0k, Jkk, m00 = metric
    units = weight.shape[0]
    for u in range(units):
        J00[u] = keep * J00[u] + weight[u]
        m00[u] = J00[u] + lam
        acc[u] = 0.0
    for i in range(x.shape[0]):
        xi = x[i]
        xi2 = xi * xi
        c = 1 + i
        for u in range(units):
            j0 = keep * J0k[c, u] + weight[u] * xi
            jk = keep * Jkk[c, u] + weight[u] * xi2
            J0k[c, u] = j0
            Jkk[c, u] = jk
            step = delta[u] * (m00[u] * xi - j0) / (m00[u] * (jk + lam) - j0 * j0)
            acc[u] += j0 * step
            phi[c, u] -= step
    for u in range(units):
        phi[0, u] -= (delta[u] - acc[u]) / m00[u]


@njit(cache=True, error_model="numpy")
def dual_norm_sq(m00, J0k, Jkk, lam, g, acc_j, acc_g):
    """g^T QDsolve(g) = ||g||^2 in the metric (J + Lambda)^-1, summed over groups.

    The exact dual norm of the QD metric (= g^T M~^-1 g, tested against a dense
    solve). The reduction uses the cheaper pair_norm_sq instead.
    """
    rows, units = g.shape
    for u in range(units):
        acc_j[u] = 0.0
        acc_g[u] = 0.0
    for c in range(1, rows):
        for u in range(units):
            invd = 1.0 / (m00[u] * (Jkk[c, u] + lam) - J0k[c, u] * J0k[c, u])
            step = (m00[u] * g[c, u] - J0k[c, u] * g[0, u]) * invd
            acc_j[u] += J0k[c, u] * step
            acc_g[u] += g[c, u] * step
    total = 0.0
    for u in range(units):
        total += g[0, u] * (g[0, u] - acc_j[u]) / m00[u] + acc_g[u]
    return total


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
