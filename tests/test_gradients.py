"""RTRL is exact (finite differences) and NoBackTrack is an unbiased estimate of it."""

import numpy as np
import pytest

from nbtzip.numeric import rng
from nbtzip.rnn import network as rnn
from nbtzip.rnn.learners import kalman, nbt, rtrl

HIDDEN, ALPHABET, FAN_IN = 4, 3, 3


def _network(seed=5):
    theta, pre, _, _ = rnn.init_params(seed, HIDDEN, ALPHABET, FAN_IN, 1.2, 1.0)
    theta[0] = np.random.default_rng(seed).normal(0, 0.3, HIDDEN)  # non-zero biases
    return theta, pre


def _final_state(theta, pre, symbols):
    a = np.zeros(HIDDEN)
    h = np.zeros(HIDDEN)
    h_next, a_next = np.zeros(HIDDEN), np.zeros(HIDDEN)
    for y in symbols:
        rnn.transition(theta, pre, a, y, h_next, a_next)
        h, a = h_next.copy(), a_next.copy()
    return h


def _rtrl(theta, pre, symbols):
    """G(T) = dh(T)/dtheta by eq. (4), from h(0) = 0 (which does not depend on theta)."""
    rows = theta.shape[0]
    G = np.zeros((HIDDEN, rows, HIDDEN))
    G_next = np.zeros_like(G)
    a = np.zeros(HIDDEN)
    h_next, a_next = np.zeros(HIDDEN), np.zeros(HIDDEN)
    for y in symbols:
        rtrl.advance(theta, pre, a, a[pre], y, G, G_next, np.zeros(HIDDEN))
        G[:] = G_next
        rnn.transition(theta, pre, a, y, h_next, a_next)
        a = a_next.copy()
    return G


def test_rtrl_matches_central_finite_differences():
    theta, pre = _network()
    symbols = np.random.default_rng(0).integers(0, ALPHABET, 20)
    G = _rtrl(theta, pre, symbols)
    eps = 1e-6
    for c in range(theta.shape[0]):
        for i in range(HIDDEN):
            up, down = theta.copy(), theta.copy()
            up[c, i] += eps
            down[c, i] -= eps
            fd = (_final_state(up, pre, symbols) - _final_state(down, pre, symbols)) / (2 * eps)
            np.testing.assert_allclose(G[:, c, i], fd, rtol=1e-6, atol=1e-8)


def _nbt_estimate(theta, pre, symbols, seed, metric, sign_source):
    """G~(T) = vbar wbar^T + sum_i e_i w_i^T after T steps of Algorithm 1/2 with theta frozen."""
    rows = theta.shape[0]
    state = rng.seed_state(seed)
    vbar = np.zeros(HIDDEN)
    wscale = np.ones(1)
    wbar = np.zeros((rows, HIDDEN))  # wbar proper is wscale[0] * wbar
    a = np.zeros(HIDDEN)
    a_prev = np.zeros(HIDDEN)
    h_next, a_next, v_next = np.zeros(HIDDEN), np.zeros(HIDDEN), np.zeros(HIDDEN)
    w_norm, signs, coef = np.zeros(HIDDEN), np.zeros(HIDDEN), np.zeros(HIDDEN)
    y_prev = -1
    a_in = np.zeros(pre.shape)  # a_prev gathered onto each unit's weights
    for y in symbols:
        if y_prev >= 0:
            rnn.gather_inputs(
                a_prev, pre, a_in
            )  # reduction (eqs. (13)-(15)); none before the first transition
            if metric is None:
                nbt.w_norms_euclidean(a_in, w_norm)
                wnorm = wscale[0] * np.sqrt(np.sum(wbar * wbar))
            else:
                m00, j0k, jkk, lam, inv_w = metric
                nbt.w_norms_kalman(m00, j0k, jkk, lam, inv_w, y_prev, a_in, w_norm)
                sq = kalman.pair_norm_sq(m00, j0k, jkk, lam, wbar, np.zeros(HIDDEN))
                wnorm = wscale[0] * np.sqrt(sq)
            sign_source(state, signs)
            nbt.reduce_pair(vbar, wscale, wbar, wnorm, w_norm, signs, y_prev, a_in, coef)
        rnn.propagate(theta, pre, a, vbar, v_next)  # transition, eqs. (16)-(17)
        vbar[:] = v_next
        rnn.transition(theta, pre, a, y, h_next, a_next)
        a_prev, a = a.copy(), a_next.copy()
        y_prev = y
    estimate = np.einsum("j,ci->jci", vbar, wscale[0] * wbar)
    ones = np.zeros(HIDDEN)
    rnn.gather_inputs(a_prev, pre, a_in)
    for i in range(HIDDEN):
        ones[:] = 0.0
        ones[i] = 1.0
        rnn.add_param_jacobian(estimate[i], ones, y_prev, a_in)
    return estimate


def _kalman_metric(theta):
    r = np.random.default_rng(9)
    rows = theta.shape[0]
    j00, j0k, jkk = np.zeros(HIDDEN), np.zeros((rows, HIDDEN)), np.zeros((rows, HIDDEN))
    m00, inv_w = np.zeros(HIDDEN), np.zeros((FAN_IN, HIDDEN))
    for _ in range(4):
        g = r.normal(size=(rows, HIDDEN))
        kalman.step_outer(
            kalman.QDMetric(j00, j0k, jkk, m00), np.zeros_like(g),
            kalman.GradientParts(g, 1.0, np.zeros((0, 0)), 0), 0.8, 0.5,
            np.zeros((0, rows, HIDDEN)), np.zeros(0), inv_w, kalman.new_scratch(HIDDEN),
        )  # fmt: skip
    return m00, j0k, jkk, 0.5, inv_w


def _biased_signs(state, out):
    """A broken sign source (+1 three times out of four): must make the test fail."""
    for i in range(out.shape[0]):
        out[i] = 1.0 if rng.uniform(state) < 0.75 else -1.0


def _mean_and_z(theta, pre, symbols, metric, sign_source, samples=3000):
    exact = _rtrl(theta, pre, symbols)
    draws = np.array(
        [_nbt_estimate(theta, pre, symbols, s, metric, sign_source) for s in range(samples)]
    )
    mean = draws.mean(axis=0)
    stderr = draws.std(axis=0, ddof=1) / np.sqrt(samples)
    z = np.abs(mean - exact) / np.maximum(stderr, 1e-12)
    return z, np.abs(mean - exact).max()


@pytest.mark.parametrize("use_metric", [False, True], ids=["euclidean", "kalman-metric"])
def test_nbt_estimate_is_unbiased(use_metric):
    theta, pre = _network()
    symbols = np.random.default_rng(1).integers(0, ALPHABET, 8)
    metric = _kalman_metric(theta) if use_metric else None
    z, _ = _mean_and_z(theta, pre, symbols, metric, nbt.draw_signs)
    # ~200 entries: every |mean - G| within 5 standard errors
    assert z.max() < 5.0


def test_unbiasedness_check_catches_biased_signs():
    theta, pre = _network()
    symbols = np.random.default_rng(1).integers(0, ALPHABET, 8)
    z, _ = _mean_and_z(theta, pre, symbols, None, _biased_signs)
    assert z.max() > 5.0
