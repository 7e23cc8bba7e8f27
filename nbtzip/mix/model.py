"""The seam the coding loops call: begin, predict_bit, learn_bit, end.

A byte is coded as 8 binary decisions, most significant bit first; decision
node k is 1 for the first bit, then k = 2k + bit (1..255), as in ctw.py.

    state = new_state(config, alphabet_flags)     # state.py
    for each byte:
        begin(state)
        for each decision k the alphabet does not force:
            p1 = predict_bit(state, k)            # P(bit = 1), strictly inside (0, 1)
            ... code the bit ...
            learn_bit(state, k, bit)
        end(state, byte)

A loop may skip predict_bit / learn_bit for forced decisions; every component
only ever learns from decisions it predicted. Inputs of the mixer, per
decision: the RNN-ME softmax (softmax.py), the bundled CTW (ctw_model.py) and
the match model (match.py); then the two-layer mixer and the APMs (mixer.py).
"""

import numpy as np
from numba import njit

from ..alphabet import Alphabet
from ..coding import loops
from ..coding.codec import Model, forced_decisions
from ..ctw import tree as ctw_model
from . import match as match_model
from . import mixer as mx
from . import softmax
from .state import State, new_state

# What the coder is handed stays this far from 0 and 1.
P_MIN = 1.0 / 65536
_GOLD = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, error_model="numpy", inline="always")
def begin(state):
    """Before the first decision of a byte: contexts, the softmax, the match."""
    hy = state.hyper
    hist = state.hist
    softmax.begin(hy, hist, state.net, state.soft)
    if hy.ctw_depth > 0:
        ctw = state.ctw
        ctw_model.context_hashes(
            hist.ring, hy.ring_mask, hist.pos[0], hy.ctw_depth, ctw.hctx, ctw.cbytes
        )
    state.match.expected[0] = match_model.expected_byte(hy, hist, state.match)


@njit(cache=True, error_model="numpy", inline="always")
def predict_bit(state, k):
    """P(the bit of decision node k is 1)."""
    hy = state.hyper
    hist = state.hist
    mixer = state.mixer
    level = hist.level[k]
    x = mixer.x
    x[mx.IN_SOFTMAX] = mx.stretch(mixer.st_table, softmax.bit_p1(state.soft.tree, k))
    if hy.ctw_depth > 0:
        ctw = state.ctw
        last = ctw_model.descend(
            ctw.table, hist.ring, hy.ring_mask, hy.ctw_line_shift, ctw.meta, k,
            ctw.group[k], hy.ctw_depth, ctw.hctx, ctw.cbytes, ctw.path,
        )  # fmt: skip
        ctw.last[0] = last
        pc = ctw_model.predict(ctw.table, ctw.path, last, hy.ctw_alpha_inv, ctw.pe, ctw.pw)
        x[mx.IN_CTW] = mx.stretch(mixer.st_table, pc)
        x[mx.IN_CTW_LEAF] = mx.stretch(mixer.st_table, ctw.pe[last]) if last >= 0 else 0.0
    else:
        last = -1
        x[mx.IN_CTW] = 0.0
        x[mx.IN_CTW_LEAF] = 0.0
    pm = match_model.predict(state.match, state.match.expected[0], k, level)
    x[mx.IN_MATCH] = mx.stretch(mixer.st_table, pm) if pm >= 0.0 else 0.0
    x[mx.IN_BIAS] = mx.BIAS_INPUT
    lbucket = match_model.bucket(state.match.length[0]) if state.match.ctx[0] >= 0 else 0
    t = hist.pos[0]
    c1 = np.int64(hist.ring[(t - 1) & hy.ring_mask]) if t > 0 else 0
    mixer.sel[mx.SET_NODE] = mx.BASE_NODE + k
    mixer.sel[mx.SET_MATCH] = mx.BASE_MATCH + lbucket * 8 + level
    mixer.sel[mx.SET_ORDER1] = mx.BASE_ORDER1 + c1 * 8 + level
    mixer.sel[mx.SET_DEPTH] = mx.BASE_DEPTH + (last + 1) * 8 + level
    p = mx.mix_predict(mixer, level)
    if hy.apm_weight > 0.0:
        s1 = hist.symbol_of[c1] if t > 0 else 0
        if s1 < 0:
            s1 = 0
        p = mx.apm_predict(mixer, p, k, s1 * 256 + k, hy.apm_weight)
    if not (p > P_MIN):
        p = P_MIN
    elif p > 1.0 - P_MIN:
        p = 1.0 - P_MIN
    mixer.p_final[0] = p
    return p


@njit(cache=True, error_model="numpy", inline="always")
def learn_bit(state, k, bit):
    """After decision k turned out `bit` (predict_bit(state, k) came just before)."""
    hy = state.hyper
    if hy.ctw_depth > 0:
        ctw = state.ctw
        ctw_model.learn(
            ctw.table, ctw.path, ctw.last[0], ctw.pe, ctw.pw, bit, hy.ctw_beta_max,
            hy.ctw_count_limit, ctw.meta[0],
        )  # fmt: skip
    match_model.learn(state.match, bit)
    level = state.hist.level[k]
    # faster at the start: x3 at the first byte, x2 after MIXER_WARMUP bytes, -> x1
    warm = mx.MIXER_WARMUP / (mx.MIXER_WARMUP + state.hist.pos[0])
    rate = hy.mixer_rate * (1.0 + 2.0 * warm)
    mx.mix_learn(state.mixer, level, bit, rate, hy.mixer2_rate)
    if hy.apm_weight > 0.0:
        mx.apm_learn(state.mixer, k, bit, hy.apm_rate)


@njit(cache=True, error_model="numpy", inline="always")
def end(state, byte):
    """After the 8th decision: the softmax learns the symbol, the histories advance."""
    hy = state.hyper
    hist = state.hist
    y = hist.symbol_of[byte]
    if y >= 0:
        softmax.learn(hy, state.net, state.soft, y)
    t = hist.pos[0]
    hist.ring[t & hy.ring_mask] = byte
    hist.pos[0] = t + 1
    state.ctw.meta[0] = t + 1
    _advance_word(hist, byte)
    match_model.update(hy, hist, state.match, byte)


@njit(cache=True, inline="always")
def _advance_word(hist, byte):
    c = byte
    if 65 <= c <= 90:
        c += 32
    if (97 <= c <= 122) or (48 <= c <= 57) or c >= 128:
        w = softmax.fmix(hist.word[0] + np.uint64(c + 1) * _GOLD)
        hist.word[0] = w if w != 0 else np.uint64(1)
    elif hist.word[0] != 0:
        hist.prev_word2[0] = hist.prev_word[0]
        hist.prev_word[0] = hist.word[0]
        hist.word[0] = np.uint64(0)


loops.register_binary_model(State, begin, predict_bit, learn_bit, end)

# Decisions are coded out of 2**12, as CTW's are: the range coder's truncation
# costs more at larger totals than the clipped confidence gains. alice29.txt:
# 2**12 1.9543 bpc, 2**13 1.9544, 2**14 1.9549, 2**15 1.9559, 2**16 1.9579
# (ideal code length 1.9487).
FREQ_TOTAL = 1 << 12


def new_model(config, alphabet: Alphabet) -> Model:
    present = alphabet.present
    state = new_state(config, present)
    return Model(state, binary=True, bit_total=FREQ_TOTAL, forced=forced_decisions(present))
