"""E_K is unbiased (every sign sequence enumerated), T_K is truncated backpropagation.

References are dense numpy Jacobians built here from eq. (27), independently of
learners/short.py: J(tau)_ij = dh_i(tau+1)/dh_j(tau), I(tau) = dh(tau+1)/dtheta
with theta flattened in rnn.py's layout, G(tau+1) = J(tau) G(tau) + I(tau).
"""

import itertools

import numpy as np
import pytest

from nbtzip.config import RNNConfig
from nbtzip.rnn import network as rnn
from nbtzip.rnn import step as online
from nbtzip.rnn.learners import kalman, nbt, rtrl, short

HIDDEN, ALPHABET, FAN_IN = 3, 2, 2


def _network(seed=3, hidden=HIDDEN, alphabet=ALPHABET, fan_in=FAN_IN):
    theta, pre, _, _ = rnn.init_params(seed, hidden, alphabet, fan_in, 1.3, 1.0)
    theta[0] = np.random.default_rng(seed).normal(0, 0.3, hidden)  # non-zero biases
    return theta, pre


def _dense_jacobians(theta, pre, a, y):
    """J (n x n) and I (n x rows x n) of the transition driven by (a, y) under theta."""
    d, n = pre.shape
    A = theta.shape[0] - 1 - d
    J = np.zeros((n, n))
    I = np.zeros((n, theta.shape[0], n))
    for i in range(n):
        I[i, 0, i] = 1.0
        I[i, 1 + y, i] += 1.0
        for k in range(d):
            j = pre[k, i]
            J[i, j] += theta[1 + A + k, i] * (1.0 - a[j] ** 2)
            I[i, 1 + A + k, i] = a[j]
    return J, I


def _trajectory(thetas, pre, symbols):
    """a(tau) for tau = 1 .. T when transition tau uses thetas[tau - 1], a(1) = 0."""
    n = pre.shape[1]
    acts = [np.zeros(n)]
    h_next, a_next = np.zeros(n), np.zeros(n)
    for theta, y in zip(thetas, symbols, strict=True):
        rnn.transition(theta, pre, acts[-1], y, h_next, a_next)
        acts.append(a_next.copy())
    return acts[:-1]


def _dense_terms(thetas, pre, symbols):
    """The terms J(T) ... J(tau+1) I(tau) of G(T+1), newest (tau = T) first."""
    acts = _trajectory(thetas, pre, symbols)
    jac = [_dense_jacobians(th, pre, a, y) for th, a, y in zip(thetas, acts, symbols, strict=True)]
    terms = []
    for tau in range(len(symbols) - 1, -1, -1):
        term = jac[tau][1]
        for later in range(tau + 1, len(symbols)):
            term = np.einsum("ij,jcu->icu", jac[later][0], term)
        terms.append(term)
    return terms


def test_dense_reference_is_rtrl():
    theta, pre = _network()
    symbols = np.random.default_rng(0).integers(0, ALPHABET, 7)
    G = np.zeros((HIDDEN, theta.shape[0], HIDDEN))
    G_next = np.zeros_like(G)
    for a, y in zip(_trajectory([theta] * 7, pre, symbols), symbols, strict=True):
        rtrl.advance(theta, pre, a, a[pre], y, G, G_next, np.zeros(HIDDEN))
        G[:] = G_next
    dense = sum(_dense_terms([theta] * 7, pre, symbols))
    np.testing.assert_allclose(G, dense, rtol=1e-12, atol=1e-14)


def _metric(theta, fan_in):
    """A fixed Kalman metric (J_theta after a few outer-product steps) and its 1/D tail."""
    r = np.random.default_rng(9)
    rows, n = theta.shape
    j00, j0k, jkk = np.zeros(n), np.zeros((rows, n)), np.zeros((rows, n))
    m00, inv_w = np.zeros(n), np.zeros((fan_in, n))
    for _ in range(4):
        g = r.normal(size=(rows, n))
        kalman.step_outer(
            kalman.QDMetric(j00, j0k, jkk, m00), np.zeros_like(g),
            kalman.GradientParts(g, 1.0, np.zeros((0, 0)), 0), 0.8, 0.5,
            np.zeros((0, rows, n)), np.zeros(0), inv_w, kalman.new_scratch(n),
        )  # fmt: skip
    return (m00, j0k, jkk, 0.5), inv_w


def _estimate(theta, pre, symbols, K, weight, sign_rows, metric):
    """G~(T + 1) of E_K / T_K after the T given symbols, theta frozen; sign_rows: the
    eps of each fold in order. Drives learners/short.py's kernels as online.learn does."""
    d, n = pre.shape
    rows = theta.shape[0]
    st = short.new_state(K, weight, 1, d, n)
    vbar, wscale, wdir = np.zeros((1, n)), np.ones(1), np.zeros((1, rows, n))
    unused = ((np.zeros(n), np.zeros((rows, n)), np.zeros((rows, n)), 0.0), np.zeros((d, n)))
    (met, inv_w), use_metric = (metric, True) if metric else (unused, False)
    scratch = [np.zeros(n) for _ in range(3)]
    signs = iter(sign_rows)
    acts = _trajectory([theta] * len(symbols), pre, symbols)
    for t, (a, y) in enumerate(zip(acts, symbols, strict=True), 1):
        short.record(theta, pre, a, y, st.ain, st.jac, st.sym, t % (K + 1))
        if use_metric:
            sq = np.array([kalman.pair_norm_sq(*met, wdir[0], scratch[0])])
        else:
            sq = nbt.euclidean_sq(wdir)
        if short.folds(t, st.sym):
            st.signs[0] = next(signs)
        short.advance_remainder(
            pre, t, st.ain, st.jac, st.sym, vbar, wscale, wdir, sq, st.signs, scratch[1],
            st.col, st.col_next, st.x, st.x_next, st.jv, st.w_norm, met, inv_w, use_metric,
        )  # fmt: skip
    assert next(signs, None) is None, "every sign row is used"
    est = np.zeros((n, rows, n))
    for j in range(n):
        H = np.eye(n)[j]
        short.remainder_gradient(H, vbar, wscale, wdir, weight, est[j])
        short.exact_gradient(H, pre, st.ain, st.jac, st.sym, len(symbols) + 1, est[j], *scratch[:2])
    return est


def _expectation(theta, pre, symbols, K, weight, metric, p_plus=0.5):
    """E[G~] over every sign sequence, each weighted by its probability (p_plus per +1)."""
    folds = len(symbols) - K
    total = 0.0
    for bits in itertools.product((1.0, -1.0), repeat=folds * HIDDEN):
        prob = np.prod([p_plus if b > 0 else 1.0 - p_plus for b in bits])
        rows = np.array(bits).reshape(folds, HIDDEN)
        total = total + prob * _estimate(theta, pre, symbols, K, weight, rows, metric)
    return total


SYMBOLS = np.array([1, 0, 1, 1, 0])


@pytest.mark.parametrize("K", [1, 2])
@pytest.mark.parametrize("use_metric", [False, True], ids=["euclidean", "kalman-metric"])
def test_e_k_is_unbiased_over_every_sign_sequence(K, use_metric):
    theta, pre = _network()
    symbols = SYMBOLS[: K + 3]  # three folds of 3 signs: 512 sequences
    metric = _metric(theta, FAN_IN) if use_metric else None
    exact = sum(_dense_terms([theta] * len(symbols), pre, symbols))
    mean = _expectation(theta, pre, symbols, K, 1.0, metric)
    assert np.abs(exact).max() > 0.1
    np.testing.assert_allclose(mean, exact, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "weight, p_plus", [(1.0, 0.75), (0.5, 0.5)], ids=["biased-signs", "scaled-remainder"]
)
def test_the_exact_expectation_catches_a_biased_estimate(weight, p_plus):
    """Signs drawn +1 three times in four, or the remainder at half weight, are biased."""
    theta, pre = _network()
    symbols = SYMBOLS[:4]
    exact = sum(_dense_terms([theta] * 4, pre, symbols))
    mean = _expectation(theta, pre, symbols, 1, weight, None, p_plus)
    assert np.abs(mean - exact).max() > 1e-3


def test_remainder_holds_what_the_exact_part_leaves_out():
    """One sign sequence: E_K's exact part is T_K's, so E_K - T_K is the weighted remainder."""
    theta, pre = _network()
    symbols = SYMBOLS
    signs = np.where(np.random.default_rng(4).random((3, HIDDEN)) < 0.5, 1.0, -1.0)
    full = _estimate(theta, pre, symbols, 2, 1.0, signs, None)
    half = _estimate(theta, pre, symbols, 2, 0.5, signs, None)
    trunc = _estimate(theta, pre, symbols, 2, 0.0, signs, None)
    np.testing.assert_allclose(full - trunc, 2.0 * (half - trunc), rtol=1e-12, atol=1e-14)
    assert np.abs(full - trunc).max() > 1e-3


@pytest.mark.parametrize("K", [1, 2, 3])
@pytest.mark.parametrize("step", ["kalman", "sgd"])
def test_t_k_inside_online_learn_is_truncated_backpropagation(K, step):
    """The g that online.learn hands the step rule, while theta learns, equals
    sum_{s <= K} H J(t-1) ... J(t-s+1) I(t-s) along the actual trajectory: each J
    with the theta that drove its transition (dense numpy, built here)."""
    n, A, d = 6, 4, 3
    config = RNNConfig(
        hidden_size=n, fan_in=d, gradient="short", exact_steps=K, remainder=0.0, step=step,
        lambda_theta=0.5, sgd_c=30.0,
    )  # fmt: skip
    symbols = np.random.default_rng(K).integers(0, A, 12)
    net = online.new_net(config, A)
    thetas, acts, checked = [], [], 0
    for t, y in enumerate(symbols, 1):
        online.predict(net)
        acts.append(net.a.copy())
        online.learn(net, y)
        if t >= 2:
            past = zip(thetas, acts[:-1], symbols[: t - 1], strict=True)
            jac = [_dense_jacobians(th, net.pre, a, yy) for th, a, yy in past]
            u = net.H.copy()
            want = np.zeros_like(net.g)
            for s in range(1, min(K, t - 1) + 1):
                if s > 1:
                    u = u @ jac[t - s][0]  # through transition t - s + 1 (0-based t - s)
                want += np.einsum("i,icu->cu", u, jac[t - s - 1][1])
            np.testing.assert_allclose(net.g, want, rtol=1e-11, atol=1e-14)
            checked += 1
        thetas.append(net.theta.copy())  # theta of transition t
    assert checked == len(symbols) - 1
    assert not np.array_equal(thetas[0], thetas[-1])  # theta did learn
