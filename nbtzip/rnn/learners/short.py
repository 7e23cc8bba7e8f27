"""Exact short-term gradient plus a NoBackTrack remainder: the estimates E_K and T_K.

Eq. (4) unrolled K steps back (tau indexes the transition h(tau) -> h(tau + 1),
J(tau) = df/dh and I(tau) = df/dtheta of that transition, I's rows being the
sparse w_i of eq. (17)):

    G(t) = sum_{s=1..K} J(t-1) ... J(t-s+1) I(t-s)  +  R(t),
    R(t) = J(t-1) ... J(t-K) G(t-K).

The sum is kept exactly. The last K transitions are stored (a(tau) gathered on
each unit's incoming weights, y(tau), and J(tau)'s n*d non-zero entries), so
H G's exact part is H back-propagated through K - 1 steps, O(K n d), then K
sparse terms of the shape of eq. (12)'s sum_i H_i w_i: truncated BPTT over K
steps without ever storing a Jacobian of theta.

R is estimated by NoBackTrack pairs (eq. (9), `rank` of them averaged) that
follow R(t+1) = J(t) R(t) + J(t) ... J(t-K+1) I(t-K) with the rank-one trick
(eqs. (7), (13)-(14)), signs eps_i = +-1:

    v <- J(t) (rho0 v + P (eps * rho)),   P = J(t-1) ... J(t-K+1),
    w <- w / rho0 + sum_i eps_i w_i(t-K) / rho_i,
    rho0 = sqrt((|w| + EPS) / (|J(t) v| + EPS)),
    rho_i = sqrt((|w_i(t-K)| + EPS) / (|J(t) P e_i| + EPS)).

Unlike Algorithm 1, rho balances each term against its image under J(t) (and
P), the vectors H(t+1) will actually meet; |J(t) P e_i| is approximated by
chaining column norms (exact for K = 1, exact for K > 1 when J(t)'s columns
are orthogonal). rho never looks at this step's signs, so E[R~] = R exactly
(tests/test_short_gradients.py enumerates every sign sequence); |.| on the
parameter side is the Kalman metric's (Algorithm 2) or Euclidean (Algorithm 1),
as in nbt.py.

The gradient is g = H (exact sum) + c (H . v) w, c the remainder's weight:
c = 1 is E_K (unbiased), c = 0 is T_K (truncated, biased, no pair kept at all),
in between shrinks the remainder's noise at the price of a bias. With K = 1
and rho from |e_i| = 1 instead of |J(t) e_i| this is the paper's NoBackTrack,
which already keeps I(t-1) exact.

History slots run modulo K + 1: transition tau lives in slot tau % (K + 1),
so recording transition t never overwrites transition t - K, which the
remainder still folds in at that step.
"""

from collections import namedtuple

import numpy as np
from numba import njit

from ...numeric import lanes
from ..network import add_param_jacobian
from .nbt import EPS, FLUSH_BELOW, SCALE_MAX, SCALE_MIN, w_norms_euclidean, w_norms_kalman

Short = namedtuple(
    "Short",
    [
        "ain",  # (K + 1, d, n): a(tau) on unit i's k-th weight
        "jac",  # (K + 1, d, n): J(tau)[i, pre[k, i]] = W (1 - a^2), theta of transition tau
        "sym",  # (K + 1,): y(tau)
        "weight",  # (1,): c, the remainder's weight
        "signs",  # (pairs, n): this step's eps, drawn by the caller (nbt.draw_signs)
        "u",  # scratch, length n
        "u_next",
        "col",
        "col_next",
        "x",
        "x_next",
        "jv",
        "w_norm",
    ],
)


def new_state(exact_steps, remainder, pairs, fan_in, hidden):
    """The E_K / T_K state of a stream: empty history, remainder weight c."""
    slots = exact_steps + 1

    def z(*shape):
        return np.zeros(shape)

    return Short(
        ain=z(slots, fan_in, hidden), jac=z(slots, fan_in, hidden),
        sym=np.full(slots, -1, dtype=np.int64), weight=np.array([float(remainder)]),
        signs=z(pairs, hidden),
        u=z(hidden), u_next=z(hidden), col=z(hidden), col_next=z(hidden),
        x=z(hidden), x_next=z(hidden), jv=z(hidden), w_norm=z(hidden),
    )  # fmt: skip


def empty_state():
    """The state a learner other than E_K / T_K carries (no arrays to speak of)."""
    return new_state(0, 0.0, 0, 0, 0)


@njit(cache=True, error_model="numpy")
def record(theta, pre, a, symbol, ain, jac, sym, slot):
    """Store transition tau = (a(tau), y(tau), theta now) in slot tau % (K + 1)."""
    d, hidden = pre.shape
    alphabet_size = theta.shape[0] - 1 - d
    for k in range(d):
        row = 1 + alphabet_size + k
        for i in range(hidden):
            aj = a[pre[k, i]]
            ain[slot, k, i] = aj
            jac[slot, k, i] = theta[row, i] * (1.0 - aj * aj)
    sym[slot] = symbol


@njit(cache=True, error_model="numpy")
def forward(pre, jc, x, out):
    """out = J x: out_i = sum_k jc[k, i] x[pre[k, i]] (eq. (16)'s product)."""
    d, hidden = pre.shape
    for i in range(hidden):
        out[i] = 0.0
    for k in range(d):
        for i in range(hidden):
            out[i] += jc[k, i] * x[pre[k, i]]


@njit(cache=True, error_model="numpy")
def back(pre, jc, u, out):
    """out = u J (one step of backpropagation): out_j = sum over (k, i) with pre[k, i] = j
    of u_i jc[k, i], in the fixed order k, then i."""
    d, hidden = pre.shape
    for j in range(hidden):
        out[j] = 0.0
    for k in range(d):
        for i in range(hidden):
            out[pre[k, i]] += u[i] * jc[k, i]


@njit(cache=True, error_model="numpy")
def back_sq(pre, jc, c, out):
    """out_j = sum_i J_ij^2 c_i: |J x|^2 for x = e_j when c holds the squared column
    norms of what J feeds (chained, the approximation the module docstring names)."""
    d, hidden = pre.shape
    for j in range(hidden):
        out[j] = 0.0
    for k in range(d):
        for i in range(hidden):
            out[pre[k, i]] += jc[k, i] * jc[k, i] * c[i]


@njit(cache=True, error_model="numpy")
def remainder_gradient(H, vbar, wscale, wdir, weight, g):
    """g = c (1/k) sum_m (H . v_m) w_m: the remainder's part of H G~ (overwrites g)."""
    rows, hidden = g.shape
    rank = vbar.shape[0]
    if rank == 0:
        lanes.fill(g, 0.0)
    for m in range(rank):
        s = 0.0
        for i in range(hidden):
            s += H[i] * vbar[m, i]
        s = weight * (s * wscale[m] / rank)
        if m == 0:
            for c in range(rows):
                for i in range(hidden):
                    g[c, i] = s * wdir[0, c, i]
        else:
            for c in range(rows):
                for i in range(hidden):
                    g[c, i] += s * wdir[m, c, i]


@njit(cache=True, error_model="numpy")
def exact_gradient(H, pre, ain, jac, sym, t, g, u, u_next):
    """g += sum_{s=1..min(K, t-1)} (H J(t-1) ... J(t-s+1)) I(t-s), the exact part of H G.

    At step t the transitions 1 .. t-1 have happened; s runs newest first."""
    slots = ain.shape[0]
    steps = min(slots - 1, t - 1)
    lanes.copy(u, H)
    for s in range(1, steps + 1):
        if s > 1:
            back(pre, jac[(t - s + 1) % slots], u, u_next)
            lanes.copy(u, u_next)
        slot = (t - s) % slots
        add_param_jacobian(g, u, sym[slot], ain[slot])


@njit(cache=True, error_model="numpy")
def column_norms(pre, jac, t, col, col_next):
    """col_i = sqrt of the chained |J(t) J(t-1) ... J(t-K+1) e_i|^2 (rho_i's denominator)."""
    slots = jac.shape[0]
    lanes.fill(col, 1.0)
    for s in range(slots - 1):
        back_sq(pre, jac[(t - s) % slots], col, col_next)
        lanes.copy(col, col_next)
    for i in range(col.shape[0]):
        col[i] = np.sqrt(col[i])


@njit(cache=True, error_model="numpy")
def fold_pair(pre, jac, t, vbar, wscale, wdir, wbar_norm, w_norm, col, signs, st_x, st_xn, jv, coef,
              symbol, ain_old):  # fmt: skip
    """R~(t+1) from R~(t) = vbar wbar^T for one pair (wbar = wscale[0] * wdir), with
    w_i(t-K) = (symbol, ain_old) folded in by the rank-one trick; J(t) in jac's slot t."""
    slots = jac.shape[0]
    now = t % slots
    hidden = vbar.shape[0]
    forward(pre, jac[now], vbar, jv)
    jv_norm = 0.0
    for i in range(hidden):
        jv_norm += jv[i] * jv[i]
    jv_norm = np.sqrt(jv_norm)
    rho0 = np.sqrt((wbar_norm + EPS) / (jv_norm + EPS))
    scale = wscale[0] / rho0
    if not (SCALE_MIN <= scale <= SCALE_MAX):
        # the fold rule of nbt.reduce_pair, for the same reasons
        for c in range(wdir.shape[0]):
            for i in range(hidden):
                y = wdir[c, i] * scale
                wdir[c, i] = y if abs(y) >= FLUSH_BELOW else 0.0
        scale = 1.0
    wscale[0] = scale
    for i in range(hidden):
        rho_i = np.sqrt((w_norm[i] + EPS) / (col[i] + EPS))
        st_x[i] = signs[i] * rho_i
        coef[i] = signs[i] / (rho_i * scale)
    for s in range(slots - 2, 0, -1):  # x <- J(t-s) x, oldest first: x = P (eps * rho)
        forward(pre, jac[(t - s) % slots], st_x, st_xn)
        lanes.copy(st_x, st_xn)
    forward(pre, jac[now], st_x, st_xn)
    for i in range(hidden):
        vbar[i] = rho0 * jv[i] + st_xn[i]
    add_param_jacobian(wdir, coef, symbol, ain_old)


@njit(cache=True, error_model="numpy")
def folds(t, sym):
    """Whether step t folds a transition (t - K) into the remainder, and so draws signs."""
    return t >= sym.shape[0]


@njit(cache=True, error_model="numpy")
def advance_remainder(pre, t, ain, jac, sym, vbar, wscale, wdir, wbar_sq, signs, coef,
                      col, col_next, x, x_next, jv, w_norm, metric, inv_w, use_metric):  # fmt: skip
    """Every pair's R~(t) -> R~(t+1), after transition t is recorded (record) and theta's step.

    wbar_sq[m]: |wdir_m|^2 in the parameter-side norm (the Kalman pass leaves it;
    Euclidean callers fill it with nbt.euclidean_sq_into). metric = (m00, J0k, Jkk, lam) of
    J_theta after the step, used when use_metric (Algorithm 2's norms). signs[m]:
    pair m's eps when folds(t) (the caller draws them, so tests can enumerate them)."""
    slots = ain.shape[0]
    old = t - (slots - 1)
    if not folds(t, sym):  # no transition t - K yet: R~ only moves along J(t)
        for m in range(vbar.shape[0]):
            forward(pre, jac[t % slots], vbar[m], jv)
            lanes.copy(vbar[m], jv)
        return
    slot = old % slots
    if use_metric:
        m00, j0k, jkk, lam = metric
        w_norms_kalman(m00, j0k, jkk, lam, inv_w, sym[slot], ain[slot], w_norm)
    else:
        w_norms_euclidean(ain[slot], w_norm)
    column_norms(pre, jac, t, col, col_next)
    for m in range(vbar.shape[0]):
        wbar_norm = wscale[m] * np.sqrt(max(wbar_sq[m], 0.0))
        fold_pair(
            pre, jac, t, vbar[m], wscale[m:m + 1], wdir[m], wbar_norm, w_norm, col, signs[m], x,
            x_next, jv, coef, sym[slot], ain[slot],
        )  # fmt: skip
