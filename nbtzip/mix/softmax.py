"""RNN-ME: the NoBackTrack RNN's softmax with direct connections ("maximum entropy").

One distribution over the file's alphabet per byte:

    logit_z = phi_z + sum_i phi_iz a_i(t)        (eq. (28), the RNN readout; absent if n = 0)
            + sum_k D_k[row_k(t), z]             (direct connections)
    p = softmax(logit)

row_k(t) is the row of table k: table 0 has one row (an order-0 bias), tables
1..K the contexts of the last 1..K bytes (order 1 indexed by the byte itself,
higher orders by an integer hash), then optionally the current word (letters
and digits so far, lower-cased; between words the last word and the last byte).

Learning, after the byte y is known, loss in nats, g_z = p_z - [z = y]:
  * every entry of the K + 1 (+1) rows: F += p_z (1 - p_z), then
    D -= s_z rate g_z / (F + prior), with s_z = min(1, cap / sum_k rate / (F_k + prior)):
    the summed step of logit z is capped (a rare symbol seen in every order at
    once moves all of its entries; uncapped, the joint jump overshoots and,
    above rate / prior ~ 1.4, diverges). D is also clamped to +-me_limit, so
    logits stay finite on any input;
  * the RNN learns from the same joint p: online.learn (readout phi by
    quasi-diagonal Kalman, theta by NoBackTrack + Kalman, then the transition).

The decision probabilities come from subtree sums: tree[256 + byte] = p, tree[k]
= tree[2k] + tree[2k + 1], and P(bit = 1 at node k) = tree[2k + 1] / tree[k].
"""

import numpy as np
from numba import njit

from ..numeric import mathfn
from ..rnn import step as online

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_S33 = np.uint64(33)
_ORDER_SEED = np.uint64(0x243F6A8885A308D3)
_WORD_SEED = np.uint64(0x13198A2E03707344)
_BIGRAM_SEED = np.uint64(0xA4093822299F31D0)


@njit(cache=True, inline="always")
def fmix(x):
    """MurmurHash3's 64-bit finaliser."""
    x ^= x >> _S33
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


@njit(cache=True, inline="always")
def _rows(hyper, hist, rows):
    """rows[k] of every table for the byte at hist.pos."""
    t = hist.pos[0]
    mask = hyper.ring_mask
    row_mask = np.uint64(hyper.me_row_mask)
    rows[0] = 0
    h = _ORDER_SEED
    for d in range(1, hyper.me_order + 1):
        c = hist.ring[(t - d) & mask] if t >= d else 0
        h = fmix(h + np.uint64(c + 1 + (d << 8)) * _GOLD)
        if d == 1 and hyper.me_row_mask >= 255:
            rows[d] = c
        else:
            rows[d] = np.int64(h & row_mask)
    if hyper.me_word:
        w = hist.word[0]
        if w != 0:
            wh = fmix(w ^ _WORD_SEED)
        else:
            last = hist.ring[(t - 1) & mask] if t >= 1 else 0
            wh = fmix(hist.prev_word[0] + np.uint64(last + 2) * _GOLD)
        rows[hyper.me_order + 1] = np.int64(wh & row_mask)
        if hyper.me_word > 1:  # the same context with the word before it
            before = hist.prev_word[0] if w != 0 else hist.prev_word2[0]
            bh = fmix((wh ^ _BIGRAM_SEED) + before * _GOLD)
            rows[hyper.me_order + 2] = np.int64(bh & row_mask)


@njit(cache=True, error_model="numpy", inline="always")
def begin(hyper, hist, net, soft):
    """The joint distribution of the next symbol into net.p, its subtree sums into tree."""
    A = hyper.alphabet_size
    logits = soft.logits
    if hyper.hidden_size > 0:
        online.readout(net)  # eq. (28): net.logits; the joint softmax is below
        for z in range(A):
            logits[z] = net.logits[z]
    else:
        for z in range(A):
            logits[z] = 0.0
    _rows(hyper, hist, soft.rows)
    for k in range(soft.rows.shape[0]):
        row = soft.weights[k, soft.rows[k]]
        for z in range(A):
            logits[z] += row[z]
    top = logits[0]
    for z in range(1, A):
        if logits[z] > top:
            top = logits[z]
    p = net.p
    total = 0.0
    for z in range(A):
        p[z] = mathfn.exp(logits[z] - top)
        total += p[z]
    inv = 1.0 / total
    tree = soft.tree
    for z in range(A):
        p[z] *= inv
        tree[256 + hist.byte_of[z]] = p[z]
    for i in range(255, 0, -1):
        tree[i] = tree[2 * i] + tree[2 * i + 1]


@njit(cache=True, error_model="numpy", inline="always")
def bit_p1(tree, k):
    """P(bit = 1) at decision node k under the joint softmax (tree: its subtree sums)."""
    s1 = tree[2 * k + 1]
    total = tree[2 * k] + s1
    if not (total > 0.0):
        return 0.5
    return s1 / total


@njit(cache=True, error_model="numpy", inline="always")
def learn(hyper, net, soft, y):
    """Direct connections, then the RNN, learn that symbol y occurred."""
    A = hyper.alphabet_size
    p = net.p
    rate = hyper.me_rate
    prior = hyper.me_prior
    limit = hyper.me_limit
    gain = soft.gain
    tables = soft.rows.shape[0]
    # Fisher first, and the summed gain of each logit with the updated Fisher.
    for z in range(A):
        gain[z] = 0.0
    for k in range(tables):
        fisher = soft.fisher[k, soft.rows[k]]
        for z in range(A):
            f = fisher[z] + p[z] * (1.0 - p[z])
            fisher[z] = f
            gain[z] += rate / (np.float64(fisher[z]) + prior)
    cap = hyper.me_step_cap
    for z in range(A):
        gz = p[z] - 1.0 if z == y else p[z]
        scale = cap / gain[z] if gain[z] > cap else 1.0
        gain[z] = scale * rate * gz  # reused: the numerator of every entry's step
    for k in range(tables):
        fisher = soft.fisher[k, soft.rows[k]]
        row = soft.weights[k, soft.rows[k]]
        for z in range(A):
            d = row[z] - gain[z] / (np.float64(fisher[z]) + prior)
            if d > limit:
                d = limit
            elif d < -limit:
                d = -limit
            row[z] = d
    if hyper.hidden_size > 0:
        online.learn(net, y)
