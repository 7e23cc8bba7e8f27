"""The quasi-diagonal solve is the exact inverse of the dense M~ (ALGORITHMS.md section 1)."""

import numpy as np

from nbtzip.rnn import network as rnn
from nbtzip.rnn.learners import kalman, nbt


class Metric:
    """QD accumulators of `units` groups of `rows` parameters, fed through step_outer."""

    def __init__(self, rows, units, lam):
        self.lam = lam
        self.j00, self.j0k, self.jkk = (
            np.zeros(units),
            np.zeros((rows, units)),
            np.zeros((rows, units)),
        )
        self.m00 = np.zeros(units)
        self.acc = np.zeros(units)
        self.inv_tail = np.zeros((min(3, rows - 1), units))  # 1 / D of the last rows
        self.dirs = np.zeros((0, rows, units))

    def metric(self):
        return kalman.QDMetric(self.j00, self.j0k, self.jkk, self.m00)

    def scratch(self):
        units = self.j00.shape[0]
        return kalman.Scratch(self.acc, np.zeros(units), np.zeros(units))

    def step(self, g, keep=0.9):
        """Update with g, return the step QDsolve(J + lam I, g) that was taken."""
        params = np.zeros_like(g)
        self.dir_sq = np.zeros(len(self.dirs))
        kalman.step_outer(
            self.metric(), params, kalman.GradientParts(g, 1.0, np.zeros((0, 0)), 0), keep,
            self.lam, self.dirs, self.dir_sq, self.inv_tail, self.scratch(),
        )  # fmt: skip
        return -params

    def dense(self, u):
        return kalman.dense_matrix(
            self.j00[u] + self.lam, self.j0k[1:, u], self.jkk[1:, u] + self.lam
        )


def _random_metric(rng, rows, units):
    metric = Metric(rows, units, rng.uniform(0.1, 3))
    for _ in range(4):
        metric.step(rng.normal(size=(rows, units)))
    return metric


def _random_case(rng):
    """A metric of 1..4 groups of 2..8 parameters, as (metric, rows, units)."""
    rows, units = int(rng.integers(2, 9)), int(rng.integers(1, 5))
    return _random_metric(rng, rows, units), rows, units


def test_qd_solve_equals_dense_solve_of_m_tilde():
    rng = np.random.default_rng(0)
    for _ in range(20):
        metric, rows, units = _random_case(rng)
        g = rng.normal(size=(rows, units))
        step = metric.step(g)
        for u in range(units):
            expected = np.linalg.solve(metric.dense(u), g[:, u])
            np.testing.assert_allclose(step[:, u], expected, rtol=1e-9, atol=1e-12)


def test_qd_solve_is_not_the_arrowhead_solve():
    rng = np.random.default_rng(1)
    metric = _random_metric(rng, 4, 1)
    g = rng.normal(size=(4, 1))
    step = metric.step(g)
    arrow = metric.dense(0)
    arrow[1:, 1:] = np.diag(np.diag(arrow)[1:])
    assert not np.allclose(step[:, 0], np.linalg.solve(arrow, g[:, 0]))


def test_readout_step_equals_dense_solve_with_its_fisher_weights():
    rng = np.random.default_rng(4)
    hidden, symbols, lam = 5, 3, 0.8
    j00, j0k, jkk = (
        np.zeros(symbols),
        np.zeros((hidden + 1, symbols)),
        np.zeros((hidden + 1, symbols)),
    )
    m00, acc = np.zeros(symbols), np.zeros(symbols)
    for _ in range(3):
        x, weight, delta = (
            rng.uniform(-1, 1, hidden),
            rng.uniform(0, 1, symbols),
            rng.normal(size=symbols),
        )
        phi = np.zeros((hidden + 1, symbols))
        metric = kalman.QDMetric(j00, j0k, jkk, m00)
        kalman.step_readout(metric, phi, x, weight, delta, 0.7, lam, acc)
    for z in range(symbols):
        g = delta[z] * np.concatenate([[1.0], x])
        dense = kalman.dense_matrix(j00[z] + lam, j0k[1:, z], jkk[1:, z] + lam)
        np.testing.assert_allclose(-phi[:, z], np.linalg.solve(dense, g), rtol=1e-9, atol=1e-12)


def test_dual_norm_equals_g_dense_inverse_g():
    rng = np.random.default_rng(2)
    for _ in range(20):
        metric, rows, units = _random_case(rng)
        g = rng.normal(size=(rows, units))
        ours = kalman.dual_norm_sq(
            metric.m00, metric.j0k, metric.jkk, metric.lam, g, np.zeros(units), np.zeros(units)
        )
        dense = sum(g[:, u] @ np.linalg.solve(metric.dense(u), g[:, u]) for u in range(units))
        assert abs(ours - dense) <= 1e-9 * abs(dense)


def _pair_norm_sq_dense(metric, w):
    """w_0^2 / M00 + sum_c w_c^2 (2x2 inverse of the (bias, c) block)_cc, from numpy."""
    total = 0.0
    for u in range(w.shape[1]):
        m00 = metric.j00[u] + metric.lam
        total += w[0, u] ** 2 / m00
        for c in range(1, w.shape[0]):
            block = np.array(
                [[m00, metric.j0k[c, u]], [metric.j0k[c, u], metric.jkk[c, u] + metric.lam]]
            )
            total += w[c, u] ** 2 * np.linalg.inv(block)[1, 1]
    return total


def test_reduction_norms_of_directions_match_their_definition_in_the_updated_metric():
    """The Kalman pass also returns each direction's pair norm in the *updated* metric."""
    rng = np.random.default_rng(2)
    for _ in range(20):
        metric, rows, units = _random_case(rng)
        metric.dirs = rng.normal(size=(3, rows, units))
        metric.step(rng.normal(size=(rows, units)))
        for m, d in enumerate(metric.dirs):
            dense = _pair_norm_sq_dense(metric, d)
            assert abs(metric.dir_sq[m] - dense) <= 1e-9 * dense


def test_sparse_norm_of_w_i_equals_the_norm_of_the_dense_vector():
    """NoBackTrack's rho_i uses ||w_i|| in the reduction's metric, from w_i's support only."""
    rng = np.random.default_rng(3)
    hidden, alphabet, fan_in = 6, 4, 3
    theta, pre, _, _ = rnn.init_params(7, hidden, alphabet, fan_in, 1.0, 1.0)
    rows = theta.shape[0]
    metric = _random_metric(rng, rows, hidden)
    a_in = rng.uniform(-1, 1, hidden)[pre]  # a(t-1) on each unit's incoming weights
    symbol = 2
    norms = np.zeros(hidden)
    assert metric.inv_tail.shape[0] == fan_in  # the recurrent rows are the last ones
    nbt.w_norms_kalman(
        metric.m00, metric.j0k, metric.jkk, metric.lam, metric.inv_tail, symbol, a_in, norms,
    )  # fmt: skip
    for i in range(hidden):
        coef = np.zeros(hidden)
        coef[i] = 1.0
        w = np.zeros((rows, hidden))
        rnn.add_param_jacobian(w, coef, symbol, a_in)
        only_i = np.zeros_like(w)
        only_i[:, i] = w[:, i]
        expected = _pair_norm_sq_dense(metric, only_i)
        assert abs(norms[i] - np.sqrt(expected)) <= 1e-9 * np.sqrt(expected)


def test_kept_inverse_pivots_are_those_of_the_updated_metric():
    rng = np.random.default_rng(6)
    metric = _random_metric(rng, 7, 4)
    rows = metric.j0k.shape[0]
    for k, c in enumerate(range(rows - metric.inv_tail.shape[0], rows)):
        m00 = metric.j00 + metric.lam
        d = m00 * (metric.jkk[c] + metric.lam) - metric.j0k[c] ** 2
        np.testing.assert_allclose(metric.inv_tail[k], 1.0 / d, rtol=1e-12)


def test_gradient_in_parts_takes_the_same_step_as_the_finished_gradient():
    """NoBackTrack hands step_outer s * wdir + sum_i H_i w_i in parts; the pass must
    leave the very bits it leaves for the finished g (the codec takes the parts path)."""
    rng = np.random.default_rng(8)
    hidden, alphabet, fan_in = 7, 5, 3
    theta, pre, _, _ = rnn.init_params(11, hidden, alphabet, fan_in, 1.0, 1.0)
    rows = theta.shape[0]
    a_in = rng.uniform(-1, 1, hidden)[pre]
    H = rng.normal(size=hidden)
    runs = []
    for parts in (False, True):
        r = np.random.default_rng(9)
        metric = Metric(rows, hidden, 0.7)
        metric.inv_tail = np.zeros((fan_in, hidden))
        params = theta.copy()
        for _ in range(5):
            shape = (1, rows, hidden)
            wdir = r.normal(size=shape) * 10.0 ** r.uniform(-6, 3, size=shape)
            s, symbol = r.normal(), int(r.integers(alphabet))
            if parts:
                sparse = np.zeros((1 + fan_in, hidden))
                nbt.sparse_gradient(H, a_in, sparse)
                gdir, gscale, row = wdir[0], s, 1 + symbol
            else:
                g = s * wdir[0]
                rnn.add_param_jacobian(g, H, symbol, a_in)
                gdir, gscale, sparse, row = g, 1.0, np.zeros((0, 0)), 0
            dir_sq = np.zeros(1)
            kalman.step_outer(
                metric.metric(), params, kalman.GradientParts(gdir, gscale, sparse, row), 0.9,
                metric.lam, wdir, dir_sq, metric.inv_tail, metric.scratch(),
            )  # fmt: skip
        runs.append((params, metric.j0k, metric.jkk, metric.inv_tail, dir_sq))
    for fused, explicit in zip(*runs, strict=True):
        assert np.array_equal(fused, explicit)
    assert not np.array_equal(runs[0][0], theta)  # the steps did move theta
