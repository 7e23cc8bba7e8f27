"""NoBackTrack: an unbiased rank-k estimate of G = dh/dtheta (Algorithms 1 and 2).

The estimate is G~ = (1/k) sum_m vbar_m wbar_m^T + sum_i e_i w_i^T (eq. (9)):
vbar[m] lives in state space (n), wbar[m] in parameter space (theta's layout),
and w_i = df_i/dtheta of the last transition is implied by the previous
activities and symbol (see network.add_param_jacobian). k = 1 is the paper's
algorithm; k > 1 averages k independent reductions (the paper's extension).

After each step the reduction (eqs. (13)-(15)) folds the w_i back into each
pair with random signs, keeping E[G~] = G exactly. Scaling by rho only trades
variance between vbar and wbar, so any rho that ignores this step's signs keeps
the estimate unbiased; the rule is pinned down below because the bit stream
depends on it:  rho_i = sqrt(||w_i|| + EPS),
rho_bar = sqrt((||wbar|| + EPS) / (||vbar|| + EPS)), with ||.|| Euclidean on the
state side and, on the parameter side, Euclidean (Algorithm 1) or, for
Algorithm 2, kalman.pair_norm_sq: the metric (J_theta + Lambda)^-1 of each
(bias, weight) pair without the cross terms between weights. Against the full
QD dual norm it gave the same bpc to 1e-4 (five 100 KB files, n = 100, and
n = 50 at rank 2) for about 9 % less time per byte.

wbar[m] is stored as wscale[m] * wdir[m]: the reduction divides the whole
vector by rho_bar every step, and keeping that factor apart turns a pass over
all of theta into one multiplication. The scale is folded back into wdir
(a fixed rule, so the bit stream stays reproducible) when it leaves
[2**-64, 2**64], and entries below FLUSH_BELOW are then set to zero.
"""

import numpy as np
from numba import njit

from ...numeric import rng
from ..network import add_param_jacobian

EPS = 1e-7
SCALE_MIN = 2.0**-64
SCALE_MAX = 2.0**64
FLUSH_BELOW = 1e-100


@njit(cache=True, error_model="numpy")
def gradient(H, vbar, wscale, wdir, symbol, a_in, g):
    """dloss/dtheta as H G~ = (1/k) sum_m (H . vbar_m) wbar_m + sum_i H_i w_i (eq. (12))."""
    rows, hidden = g.shape
    rank = vbar.shape[0]
    for m in range(rank):
        s = pair_weight(H, vbar, wscale, m)
        if m == 0:
            for c in range(rows):
                for i in range(hidden):
                    g[c, i] = s * wdir[0, c, i]
        else:
            for c in range(rows):
                for i in range(hidden):
                    g[c, i] += s * wdir[m, c, i]
    add_param_jacobian(g, H, symbol, a_in)


@njit(cache=True, error_model="numpy")
def pair_weight(H, vbar, wscale, m):
    """(H . vbar_m) * wscale_m / k: pair m's weight on wdir_m in eq. (12)."""
    s = 0.0
    for i in range(H.shape[0]):
        s += H[i] * vbar[m, i]
    return s * wscale[m] / vbar.shape[0]


@njit(cache=True, error_model="numpy")
def sparse_gradient(H, a_in, out):
    """The sum_i H_i w_i part of eq. (12) in kalman.step_outer's sparse form:
    out[0] = H (bias and r_{i,y}), out[1 + k] = H_i a_j at unit i's k-th weight."""
    d, hidden = a_in.shape
    for i in range(hidden):
        out[0, i] = H[i]
    for k in range(d):
        for i in range(hidden):
            out[1 + k, i] = H[i] * a_in[k, i]


@njit(cache=True, error_model="numpy")
def euclidean_sq(wdir):
    """||wdir||_2^2 per pair (the Euclidean counterpart of kalman.step_outer's dir_sq)."""
    out = np.zeros(wdir.shape[0])
    euclidean_sq_into(wdir, out, np.zeros(wdir.shape[2]))
    return out


@njit(cache=True, error_model="numpy")
def euclidean_sq_into(wdir, out, acc):
    """euclidean_sq into out, with acc (hidden) as scratch: allocates nothing, so
    the binary models' loops (compiled without reference counting) can call it."""
    rank, rows, hidden = wdir.shape
    for m in range(rank):
        out[m] = 0.0
        for i in range(hidden):
            acc[i] = 0.0
        for c in range(rows):
            for i in range(hidden):
                acc[i] += wdir[m, c, i] * wdir[m, c, i]
        for i in range(hidden):
            out[m] += acc[i]


@njit(cache=True, error_model="numpy")
def w_norms_euclidean(a_in, out):
    """||w_i||_2: two entries equal to 1 (b_i and r_{i,y}) and a_j at each incoming weight."""
    d, hidden = a_in.shape
    for i in range(hidden):
        out[i] = 2.0
    for k in range(d):
        for i in range(hidden):
            aj = a_in[k, i]
            out[i] += aj * aj
    for i in range(hidden):
        out[i] = np.sqrt(out[i])


@njit(cache=True, error_model="numpy")
def w_norms_kalman(m00, J0k, Jkk, lam, inv_w, symbol, a_in, out):
    """||w_i|| in kalman.pair_norm_sq's metric, touching only w_i's support:
    w_0 = 1 (bias), 1 at r_{i,symbol}, a_j at the incoming weights, whose
    1 / D the Kalman pass left in inv_w (one row per incoming weight)."""
    d, hidden = a_in.shape
    ry = 1 + symbol
    for i in range(hidden):
        out[i] = 1.0 / (m00[i] * (Jkk[ry, i] + lam) - J0k[ry, i] * J0k[ry, i])
    for k in range(d):
        for i in range(hidden):
            wc = a_in[k, i]
            out[i] += wc * wc * inv_w[k, i]
    for i in range(hidden):
        out[i] = np.sqrt(1.0 / m00[i] + m00[i] * out[i])


@njit(cache=True, error_model="numpy")
def draw_signs(state, out):
    """+-1 for each unit, 64 signs per PRNG draw, bit i % 64 of draw i // 64."""
    hidden = out.shape[0]
    word = np.uint64(0)
    for i in range(hidden):
        if i % 64 == 0:
            word = rng.next_u64(state)
        out[i] = 1.0 if (word >> np.uint64(i % 64)) & np.uint64(1) else -1.0


@njit(cache=True, error_model="numpy")
def reduce_pair(vbar, wscale, wdir, wbar_norm, w_norm, signs, symbol, a_in, coef):
    """Eqs. (13)-(14) for pair m: vbar <- rho_bar vbar + sum eps_i rho_i e_i,
    wbar <- wbar / rho_bar + sum eps_i w_i / rho_i, with wbar = wscale[m] * wdir."""
    hidden = vbar.shape[0]
    vnorm = 0.0
    for i in range(hidden):
        vnorm += vbar[i] * vbar[i]
    vnorm = np.sqrt(vnorm)
    rho_bar = np.sqrt((wbar_norm + EPS) / (vnorm + EPS))
    scale = wscale[0] / rho_bar
    if not (SCALE_MIN <= scale <= SCALE_MAX):
        # Entries that no recent w_i refreshed shrink by 2**-64 at every such
        # fold; flush them to zero well before they turn subnormal (subnormal
        # arithmetic is slow, and they no longer change any prediction).
        for c in range(wdir.shape[0]):
            for i in range(hidden):
                x = wdir[c, i] * scale
                wdir[c, i] = x if abs(x) >= FLUSH_BELOW else 0.0
        scale = 1.0
    wscale[0] = scale
    for i in range(hidden):
        rho_i = np.sqrt(w_norm[i] + EPS)
        vbar[i] = rho_bar * vbar[i] + signs[i] * rho_i
        coef[i] = signs[i] / (rho_i * scale)
    add_param_jacobian(wdir, coef, symbol, a_in)
