"""Logistic mixing of binary predictions, then an APM (adaptive probability map).

Every input is a probability that the next bit is 1, handed over in the
stretch domain st(p) = ln(p / (1 - p)). Layer 1 has N_SETS weight sets, each
chosen per decision by its own small context (see model.py); set s outputs
p_s = squash(w_s . x) and learns w_s += rate (bit - p_s) x, the gradient of
the log loss in nats. Layer 2 mixes st(p_s) the same way with weights chosen
by the bit position. The APM then refines the mixer's output: 33 buckets over
st(p) in [-8, 8], interpolated, one table by decision node and one by
(previous symbol, decision node); the final p averages the mixer and the APMs.

Deterministic: float64 IEEE in a fixed order, exp and log from mathfn.
"""

import numpy as np
from numba import njit

from .. import mathfn

# Inputs of layer 1, in this order; an input that is switched off reads 0.
IN_SOFTMAX, IN_CTW, IN_MATCH, IN_BIAS = range(4)
N_INPUTS = 4
BIAS_INPUT = 0.5
# Weight sets of layer 1 and their row counts (model.py picks the row).
SET_NODE, SET_MATCH, SET_ORDER1 = range(3)
SET_ROWS = np.array([256, 16 * 8, 256 * 8], dtype=np.int64)
SET_BASE = np.concatenate([[0], np.cumsum(SET_ROWS)[:-1]]).astype(np.int64)
N_SETS = 3
APM_BUCKETS = 33
STRETCH_CLIP = 8.0
# Probabilities reaching the mixer are kept this far from 0 and 1.
P_EPS = 1.0 / (1 << 20)


def new_stretch_table():
    """Reserved for a table-driven stretch; the kernels call mathfn today."""
    return np.zeros(0)


@njit(cache=True, error_model="numpy")
def stretch(p):
    """ln(p / (1 - p)), p first kept inside [P_EPS, 1 - P_EPS]."""
    if not (p > P_EPS):
        p = P_EPS
    elif p > 1.0 - P_EPS:
        p = 1.0 - P_EPS
    return mathfn.log(p / (1.0 - p))


@njit(cache=True, error_model="numpy")
def squash(x):
    """1 / (1 + e^-x), the inverse of stretch."""
    if x > 40.0:
        x = 40.0
    elif x < -40.0:
        x = -40.0
    return 1.0 / (1.0 + mathfn.exp(-x))


@njit(cache=True, error_model="numpy")
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
        p = squash(dot)
        mixer.p1[s] = p
        mixer.x2[s] = stretch(p)
    mixer.x2[sets] = BIAS_INPUT
    dot = 0.0
    for s in range(sets + 1):
        dot += mixer.w2[level, s] * mixer.x2[s]
    p = squash(dot)
    mixer.p2[0] = p
    return p


@njit(cache=True, error_model="numpy")
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


@njit(cache=True, error_model="numpy")
def apm_predict(mixer, p, node, row2, weight):
    """Refine p through both APMs; returns the final probability (before clamping)."""
    sx = stretch(p)
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


@njit(cache=True, error_model="numpy")
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
