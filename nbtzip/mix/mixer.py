"""Logistic mixing of binary predictions, then an APM (adaptive probability map).

Every input is a probability that the next bit is 1, handed over in the
stretch domain st(p) = ln(p / (1 - p)). Layer 1 has N_SETS weight sets, each
chosen per decision by its own small context (see model.py); set s outputs
p_s = squash(w_s . x) and learns w_s += rate (bit - p_s) x, the gradient of
the log loss in nats. Layer 2 mixes st(p_s) the same way with weights chosen
by the bit position. The APM then refines the mixer's output: 33 buckets over
st(p) in [-8, 8], interpolated, one table by decision node and one by
(previous symbol, decision node); the final p averages the mixer and the APMs.

Deterministic: float64 IEEE in a fixed order; stretch and squash are
interpolated tables built at start-up from mathfn (new_tables).
"""

import numpy as np
from numba import njit

from ..numeric import mathfn

# Inputs of layer 1, in this order; an input that is switched off reads 0.
# IN_CTW_LEAF: the KT estimate of the deepest CTW node on the path, alone.
IN_SOFTMAX, IN_CTW, IN_CTW_LEAF, IN_MATCH, IN_BIAS = range(5)
N_INPUTS = 5
BIAS_INPUT = 0.5
# Weight sets of layer 1 and their row counts (model.py picks the row).
# SET_DEPTH: the depth of the deepest CTW node on the path x the bit position.
SET_NODE, SET_MATCH, SET_ORDER1, SET_DEPTH = range(4)
# (plain ints: the kernels read them as compile-time constants)
ROWS_NODE, ROWS_MATCH, ROWS_ORDER1, ROWS_DEPTH = 256, 16 * 8, 256 * 8, 18 * 8
BASE_NODE = 0
BASE_MATCH = BASE_NODE + ROWS_NODE
BASE_ORDER1 = BASE_MATCH + ROWS_MATCH
BASE_DEPTH = BASE_ORDER1 + ROWS_ORDER1
SET_ROWS_TOTAL = BASE_DEPTH + ROWS_DEPTH
N_SETS = 4
APM_BUCKETS = 33
# The layer-1 rate starts at 3x mixer_rate and decays to it (2x at this many bytes):
# small files want 0.02-0.03, alice29 0.01 (measured).
MIXER_WARMUP = 16384.0
STRETCH_CLIP = 8.0


STRETCH_SIZE = 4096  # stretch table: st((i + 0.5) / STRETCH_SIZE), i = 0 .. 4095
SQUASH_LIMIT = 12.0  # squash table over [-12, 12] ...
SQUASH_STEP = 64  # ... in steps of 1/64


@njit(cache=True, error_model="numpy")
def new_tables():
    """(stretch table, squash table), built from mathfn: the same bits everywhere."""
    st = np.zeros(STRETCH_SIZE)
    for i in range(STRETCH_SIZE):
        p = (i + 0.5) / STRETCH_SIZE
        st[i] = mathfn.log(p / (1.0 - p))
    n = int(2 * SQUASH_LIMIT * SQUASH_STEP) + 1
    sq = np.zeros(n)
    for i in range(n):
        sq[i] = 1.0 / (1.0 + mathfn.exp(SQUASH_LIMIT - i / SQUASH_STEP))
    return st, sq


@njit(cache=True, error_model="numpy", inline="always")
def stretch(tab, p):
    """ln(p / (1 - p)) interpolated in the table; p beyond its first and last
    centres reads the end values (about +-9)."""
    u = p * STRETCH_SIZE - 0.5
    if not (u > 0.0):
        return tab[0]
    j = int(u)
    if j >= STRETCH_SIZE - 1:
        return tab[STRETCH_SIZE - 1]
    return tab[j] + (u - j) * (tab[j + 1] - tab[j])


@njit(cache=True, error_model="numpy", inline="always")
def squash(tab, x):
    """1 / (1 + e^-x) interpolated in the table, x clamped to +-SQUASH_LIMIT."""
    u = (x + SQUASH_LIMIT) * SQUASH_STEP
    if not (u > 0.0):
        return tab[0]
    j = int(u)
    if j >= tab.shape[0] - 1:
        return tab[tab.shape[0] - 1]
    return tab[j] + (u - j) * (tab[j + 1] - tab[j])


@njit(cache=True, error_model="numpy", inline="always")
def mix_predict(mixer, level):
    """Both layers over mixer.x with the rows in mixer.sel; returns the output p."""
    x = mixer.x
    n = x.shape[0]
    sets = mixer.sel.shape[0]
    for s in range(sets):
        r = mixer.sel[s]
        dot = 0.0
        for i in range(n):
            dot += mixer.w1[r, i] * x[i]
        p = squash(mixer.sq_table, dot)
        mixer.p1[s] = p
        mixer.x2[s] = stretch(mixer.st_table, p)
    mixer.x2[sets] = BIAS_INPUT
    dot = 0.0
    for s in range(sets + 1):
        dot += mixer.w2[level, s] * mixer.x2[s]
    p = squash(mixer.sq_table, dot)
    mixer.p2[0] = p
    return p


@njit(cache=True, error_model="numpy", inline="always")
def mix_learn(mixer, level, bit, rate, rate2):
    err = bit - mixer.p2[0]
    sets = mixer.sel.shape[0]
    for s in range(sets + 1):
        mixer.w2[level, s] += rate2 * err * mixer.x2[s]
    x = mixer.x
    n = x.shape[0]
    for s in range(sets):
        r = mixer.sel[s]
        e = rate * (bit - mixer.p1[s])
        for i in range(n):
            mixer.w1[r, i] += e * x[i]


@njit(cache=True, error_model="numpy", inline="always")
def apm_predict(mixer, p, node, row2, weight):
    """Refine p through both APMs; returns the final probability (before clamping)."""
    sx = stretch(mixer.st_table, p)
    if sx > STRETCH_CLIP:
        sx = STRETCH_CLIP
    elif sx < -STRETCH_CLIP:
        sx = -STRETCH_CLIP
    pos = (sx + STRETCH_CLIP) * ((APM_BUCKETS - 1) / (2.0 * STRETCH_CLIP))
    j = int(pos)
    if j > APM_BUCKETS - 2:
        j = APM_BUCKETS - 2
    f = pos - j
    mixer.apm_at[0] = j
    mixer.apm_at[1] = row2
    mixer.apm_frac[0] = f
    a1 = (1.0 - f) * mixer.apm1[node, j] + f * mixer.apm1[node, j + 1]
    a2 = (1.0 - f) * mixer.apm2[row2, j] + f * mixer.apm2[row2, j + 1]
    return (1.0 - weight) * p + weight * (0.5 * (a1 + a2))


@njit(cache=True, error_model="numpy", inline="always")
def apm_learn(mixer, node, bit, rate):
    j = mixer.apm_at[0]
    row2 = mixer.apm_at[1]
    f = mixer.apm_frac[0]
    r0 = rate * (1.0 - f)
    r1 = rate * f
    mixer.apm1[node, j] += r0 * (bit - mixer.apm1[node, j])
    mixer.apm1[node, j + 1] += r1 * (bit - mixer.apm1[node, j + 1])
    mixer.apm2[row2, j] += r0 * (bit - mixer.apm2[row2, j])
    mixer.apm2[row2, j + 1] += r1 * (bit - mixer.apm2[row2, j + 1])
