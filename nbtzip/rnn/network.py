"""The character model of eq. (27)-(28): a sparse tanh RNN with a softmax readout.

    h_i(t+1) = b_i + r_{i,y(t)} + sum_j W_{ji} a_j(t),   a = tanh(h)         (27)
    yhat_z(t) = phi_z + sum_i phi_{iz} a_i(t),         p = softmax(yhat)    (28)

Memory layout (chosen so every inner loop runs over a contiguous axis and every
sum has one fixed order, see DESIGN.md "Deterministic arithmetic"):

theta[c, i]   the parameters feeding hidden unit i, one column per unit. Row c is
              the "input line" c of the unit: c = 0 is the bias b_i (activity 1),
              c = 1 + z is r_{i,z} (activity [y(t) = z]), c = 1 + A + k is the
              weight W_{pre[k,i], i} from the unit's k-th presynaptic unit.
pre[k, i]     index of unit i's k-th presynaptic unit (fan-in d distinct units).
phi[c, z]     readout of symbol z: c = 0 is phi_z, c = 1 + i is phi_{iz}; the
              columns are padded to a multiple of 8 (see predict).

Every parameter group of the quasi-diagonal metric (one hidden unit, one output
symbol) is thus one column, and sums over a unit's inputs run down a column,
which numba turns into vector operations across units without reordering.
"""

import numpy as np
from numba import njit

from ..numeric import lanes, mathfn, rng


@njit(cache=True, error_model="numpy")
def init_params(seed, hidden, alphabet_size, fan_in, sigma_w, sigma_r):
    """Sparse random network from the project PRNG, in a fixed order of draws.

    Draw order: for each unit, its distinct presynaptic units (partial
    Fisher-Yates) and their weights N(0, sigma_w^2 / d); then r ~ N(0, sigma_r^2)
    symbol by symbol. Biases and the readout start at zero; r must not, or every
    activity would stay 0 forever (ALGORITHMS.md section 3).
    """
    state = rng.seed_state(seed)
    d = min(fan_in, hidden)
    rows = 1 + alphabet_size + d
    theta = np.zeros((rows, hidden))
    pre = np.zeros((d, hidden), dtype=np.int64)
    pool = np.arange(hidden)
    scale_w = sigma_w / np.sqrt(max(d, 1))
    for i in range(hidden):
        for k in range(hidden):
            pool[k] = k
        for k in range(d):
            j = k + rng.below(state, hidden - k)
            pool[k], pool[j] = pool[j], pool[k]
            pre[k, i] = pool[k]
            theta[1 + alphabet_size + k, i] = scale_w * rng.normal(state)
    for z in range(alphabet_size):
        for i in range(hidden):
            theta[1 + z, i] = sigma_r * rng.normal(state)
    phi = np.zeros((1 + hidden, padded(alphabet_size)))
    return theta, pre, phi, state


@njit(cache=True, error_model="numpy")
def padded(alphabet_size):
    """Readout width: the alphabet rounded up to whole 8-wide vectors (30% faster
    readout steps at A = 103 than at the unpadded width, measured)."""
    return (alphabet_size + 7) // 8 * 8


@njit(cache=True, error_model="numpy", inline="always")
def readout(phi, a, logits):
    """Eq. (28)'s logits alone: phi_z + sum_i phi_iz a_i, as axpy over the readout rows."""
    hidden = a.shape[0]
    width = logits.shape[0]
    for z in range(width):
        logits[z] = phi[0, z]
    for i in range(hidden):
        ai = a[i]
        for z in range(width):
            logits[z] += ai * phi[1 + i, z]


@njit(cache=True, error_model="numpy")
def predict(phi, a, logits, p, alphabet_size):
    """Eq. (28): logits as axpy over the readout rows, then a softmax into p.

    The readout may carry padding columns past alphabet_size (so its rows are
    whole vectors); they get probability 0 and, with it, zero error and zero
    Fisher weight, so they never move.
    """
    readout(phi, a, logits)
    width = logits.shape[0]
    top = logits[0]
    for z in range(1, alphabet_size):
        if logits[z] > top:
            top = logits[z]
    total = 0.0
    for z in range(alphabet_size):
        p[z] = mathfn.exp(logits[z] - top)
        total += p[z]
    inv = 1.0 / total
    for z in range(alphabet_size):
        p[z] *= inv
    for z in range(alphabet_size, width):
        p[z] = 0.0


@njit(cache=True, error_model="numpy")
def transition(theta, pre, a, symbol, h_next, a_next):
    """Eq. (27): h(t+1) from a(t) and x(t) = y(t), then a(t+1) = tanh h(t+1)."""
    hidden = a.shape[0]
    d = pre.shape[0]
    alphabet_size = theta.shape[0] - 1 - d
    for i in range(hidden):
        h_next[i] = theta[0, i] + theta[1 + symbol, i]
    for k in range(d):
        row = 1 + alphabet_size + k
        for i in range(hidden):
            h_next[i] += theta[row, i] * a[pre[k, i]]
    for i in range(hidden):
        a_next[i] = mathfn.tanh(h_next[i])


@njit(cache=True, error_model="numpy")
def propagate(theta, pre, a, v, v_next):
    """dh(t+1)/dh(t) applied to v: v'_i = sum_j W_ji (1 - a_j^2) v_j (Algorithm 1, eq. (16))."""
    hidden = a.shape[0]
    d = pre.shape[0]
    alphabet_size = theta.shape[0] - 1 - d
    for i in range(hidden):
        v_next[i] = 0.0
    for k in range(d):
        row = 1 + alphabet_size + k
        for i in range(hidden):
            j = pre[k, i]
            v_next[i] += theta[row, i] * (1.0 - a[j] * a[j]) * v[j]


@njit(cache=True, error_model="numpy")
def state_error(phi, a, delta, out):
    """H_i = dloss/dh_i = (1 - a_i^2) sum_z phi_{iz} delta_z (eq. (11)).

    The sums run in lanes.tree_dots' fixed eight-lane order (the same bits on
    every machine).
    """
    lanes.tree_dots(phi, 1, delta, out)
    for i in range(a.shape[0]):
        out[i] = (1.0 - a[i] * a[i]) * out[i]


@njit(cache=True, error_model="numpy")
def gather_inputs(a, pre, out):
    """out[k, i] = a[pre[k, i]], the activity on unit i's k-th incoming weight."""
    d, hidden = pre.shape
    for k in range(d):
        for i in range(hidden):
            out[k, i] = a[pre[k, i]]


@njit(cache=True, error_model="numpy")
def add_param_jacobian(target, coef, symbol, a_in):
    """target[:, i] += coef_i * w_i with w_i = (df_i/dtheta)^T of the transition driven by
    (a, symbol): 1 at b_i, 1 at r_{i,symbol}, a_j at W_{ji} (eq. (17)), with a_in the
    gathered activities (gather_inputs). w_i is never stored."""
    hidden = coef.shape[0]
    d = a_in.shape[0]
    alphabet_size = target.shape[0] - 1 - d
    for i in range(hidden):
        target[0, i] += coef[i]
        target[1 + symbol, i] += coef[i]
    for k in range(d):
        row = 1 + alphabet_size + k
        for i in range(hidden):
            target[row, i] += coef[i] * a_in[k, i]
