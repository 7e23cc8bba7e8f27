"""Real-time recurrent learning: the exact G = dh/dtheta, the reference for NoBackTrack.

G[j, c, i] = dh_j / dtheta[c, i] (theta in network.py's layout). Eq. (4):

    G(t+1) = (df/dh) G(t) + df/dtheta,   (df/dh)_{ij} = W_ji (1 - a_j^2)

costs O(n * d * dim theta) per step and O(n * dim theta) memory: fine for
checking NoBackTrack on small networks, hopeless for large ones.
"""

from numba import njit

from ..network import add_param_jacobian


@njit(cache=True, error_model="numpy")
def gradient(H, G, g):
    """dloss/dtheta = H G (eq. (6))."""
    hidden, rows, units = G.shape
    for c in range(rows):
        for i in range(units):
            g[c, i] = 0.0
    for j in range(hidden):
        hj = H[j]
        for c in range(rows):
            for i in range(units):
                g[c, i] += hj * G[j, c, i]


@njit(cache=True, error_model="numpy")
def advance(theta, pre, a, a_in, symbol, G, G_next, ones):
    """Eq. (4) for the transition driven by (a(t), y(t)), with the current theta
    (a_in: a(t) gathered, rnn.gather_inputs)."""
    hidden, rows, units = G.shape
    d = pre.shape[0]
    alphabet_size = rows - 1 - d
    for i in range(hidden):
        for c in range(rows):
            for u in range(units):
                G_next[i, c, u] = 0.0
        for k in range(d):
            j = pre[k, i]
            coef = theta[1 + alphabet_size + k, i] * (1.0 - a[j] * a[j])
            for c in range(rows):
                for u in range(units):
                    G_next[i, c, u] += coef * G[j, c, u]
    # df_i/dtheta touches only unit i's own column: G_next[i, :, i] += w_i.
    for i in range(hidden):
        ones[i] = 0.0
    for i in range(hidden):
        ones[i] = 1.0
        add_param_jacobian(G_next[i], ones, symbol, a_in)
        ones[i] = 0.0
