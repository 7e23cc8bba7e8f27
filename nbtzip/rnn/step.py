"""One time step of online learning: predict y(t), then learn from it.

A learner is a gradient estimate for theta (NoBackTrack rank k, exact RTRL, or
none = theta frozen) times a step rule (quasi-diagonal Kalman or Euclidean SGD);
docs/ALGORITHMS.md section 2 lists the steps this module follows, numbered the
same. The coding loops and online_losses() call exactly these two functions,
so the compressor learns exactly what the benchmarks measure.

All state of a stream lives in a Net, built once by new_net() and mutated in
place by the jitted step: named groups of arrays (the network, its activities,
the output and its errors, each learner's own state) and the hyperparameters
as named scalars.
"""

import math
from collections import namedtuple

import numpy as np
from numba import njit

from ..coding.codec import slices
from ..coding.loops import measure_symbols, register_symbol_model
from ..numeric import mathfn
from . import network
from .learners import kalman, nbt, rtrl, sgd

GRAD_NBT, GRAD_RTRL, GRAD_NONE = 0, 1, 2
STEP_KALMAN, STEP_SGD = 0, 1
FISHER_EXACT, FISHER_OP = 0, 1
GRADIENT_CODES = {"nbt": GRAD_NBT, "rtrl": GRAD_RTRL, "none": GRAD_NONE}
STEP_CODES = {"kalman": STEP_KALMAN, "sgd": STEP_SGD}
FISHER_CODES = {"exact": FISHER_EXACT, "op": FISHER_OP}

INV_LN2 = 1.0 / math.log(2.0)

# theta[c, i], pre[k, i], phi[c, z] in network.py's layout
Params = namedtuple("Params", ["theta", "pre", "phi"])
# h(t), a(t); a_in[k, i] = a(t) on unit i's k-th weight (network.gather_inputs);
# h_next, a_next: the transition's output before it becomes the present
Activity = namedtuple("Activity", ["h", "a", "a_in", "h_next", "a_next"])
# the readout's logits and p (eq. (28)), the output error delta, the state
# error H = dloss/dh (eq. (11)) and the readout's Fisher weights
Output = namedtuple("Output", ["logits", "p", "delta", "H", "fisher"])
# NoBackTrack's k pairs: vbar[m], wbar[m] = wscale[m] * wdir[m] (nbt.py), the
# squared wdir norms the Kalman pass leaves, and the reduction's workspaces
Pairs = namedtuple("Pairs", ["vbar", "wscale", "wdir", "wsq", "v_next", "w_norm", "signs", "coef"])
# RTRL's exact G = dh/dtheta (rtrl.py) and its next value
Exact = namedtuple("Exact", ["G", "G_next"])
# theta's gradient when written out; its sparse part for the fused rank-one path
Gradient = namedtuple("Gradient", ["g", "sparse"])
# time t and the previous symbol y(t-1) (-1 before the first)
Clock = namedtuple("Clock", ["t", "previous"])
Hyper = namedtuple(
    "Hyper",
    ["gradient", "step", "fisher", "alphabet_size", "lambda_theta", "lambda_phi", "sgd_c",
     "gamma_power"],
)  # fmt: skip
Net = namedtuple(
    "Net",
    [
        "params", "act", "out", "pairs", "exact", "grad",
        "theta_metric",  # kalman.QDMetric of theta (empty unless Kalman learns theta)
        "theta_inv_w",  # 1 / D of theta's incoming-weight rows (kalman.step_outer)
        "theta_scratch",  # kalman.Scratch
        "phi_metric",  # kalman.QDMetric of the readout
        "rng", "clock", "hyper",
    ],
)  # fmt: skip


def new_net(config, alphabet_size):
    """The initial state of a stream: sparse random theta, zero readout, h(0) = 0."""
    n = config.hidden_size
    theta, pre, phi, state = network.init_params(
        config.seed, n, alphabet_size, config.fan_in, config.sigma_w, config.sigma_r
    )
    A = phi.shape[1]  # readout width, padded past the alphabet
    rows = theta.shape[0]
    d = pre.shape[0]
    learns_theta = config.gradient != "none"
    kalman_theta = learns_theta and config.step == "kalman"
    k = config.rank if config.gradient == "nbt" else 0
    g_rows = rows if config.gradient == "rtrl" else 0
    # rank-one NoBackTrack under Kalman never writes g out (see learn, steps 5-6)
    fused_gradient = kalman_theta and config.gradient == "nbt" and config.rank == 1
    z = np.zeros

    def sized(flag, *shape):
        return z(shape if flag else (0,) * len(shape))

    return Net(
        params=Params(theta, pre, phi),
        act=Activity(z(n), z(n), z((d, n)), z(n), z(n)),
        out=Output(z(A), z(A), z(A), z(n), z(A)),
        pairs=Pairs(z((k, n)), np.ones(k), z((k, rows, n)), z(k), z(n), z(n), z(n), z(n)),
        exact=Exact(sized(g_rows, n, g_rows, n), sized(g_rows, n, g_rows, n)),
        grad=Gradient(
            sized(learns_theta and not fused_gradient, rows, n),
            sized(fused_gradient, 1 + d, n),
        ),
        theta_metric=kalman.new_metric(rows, n) if kalman_theta else kalman.new_metric(0, 0),
        theta_inv_w=sized(kalman_theta, d, n),
        theta_scratch=kalman.new_scratch(max(n, A)),
        phi_metric=kalman.new_metric(*((n + 1, A) if config.step == "kalman" else (0, 0))),
        rng=state,
        clock=np.array([1, -1], dtype=np.int64),
        hyper=Hyper(
            GRADIENT_CODES[config.gradient], STEP_CODES[config.step], FISHER_CODES[config.fisher],
            alphabet_size, float(config.lambda_theta), float(config.lambda_phi),
            float(config.sgd_c), float(config.gamma_power),
        ),
    )  # fmt: skip


@njit(cache=True, error_model="numpy")
def predict(net):
    """Step 1, eq. (28): the distribution of y(t) over the alphabet (a view of net.out.p)."""
    network.predict(net.params.phi, net.act.a, net.out.logits, net.out.p, net.hyper.alphabet_size)
    return net.out.p[: net.hyper.alphabet_size]


@njit(cache=True, error_model="numpy")
def learn(net, y):
    """Steps 2-8: learn from the symbol y(t) that occurred, then move to t + 1."""
    hyper = net.hyper
    params, act, out, pairs = net.params, net.act, net.out, net.pairs
    use_kalman = hyper.step == STEP_KALMAN
    t = net.clock[0]
    y_prev = net.clock[1]
    n = act.a.shape[0]
    A = out.p.shape[0]
    gamma = _decay(float(t), hyper.gamma_power)
    eta = hyper.sgd_c / (n * np.sqrt(float(t)))

    # 2. output error, loss in bits: delta_z = (p_z - [z = y]) / ln 2
    for z in range(A):
        out.delta[z] = out.p[z] * INV_LN2
    out.delta[y] -= INV_LN2
    # 3. state error H = dloss/dh (eq. (11)), before phi moves (theta learners only)
    learns_theta = hyper.gradient != GRAD_NONE
    if learns_theta:
        network.state_error(params.phi, act.a, out.delta, out.H)

    # 4. readout step, eqs. (22)-(24) (Kalman) or (10) (Euclidean)
    if use_kalman:
        if hyper.fisher == FISHER_EXACT:
            for z in range(A):
                out.fisher[z] = out.p[z] * (1.0 - out.p[z]) * (INV_LN2 * INV_LN2)
        else:
            for z in range(A):
                out.fisher[z] = out.delta[z] * out.delta[z]
        kalman.step_readout(
            net.phi_metric, params.phi, act.a, out.fisher, out.delta, 1.0 - gamma,
            hyper.lambda_phi, net.theta_scratch.acc,
        )  # fmt: skip
    else:
        sgd.step_readout(params.phi, act.a, out.delta, eta)

    # 5-7. theta: gradient estimate, step, reduction. At t = 1 there was no
    # transition yet, so G = 0 and there is nothing to learn or reduce.
    if learns_theta and y_prev >= 0:
        _learn_theta(net, y_prev, 1.0 - gamma, eta)

    # 8. transition with the updated theta, x(t) = y(t) (eqs. (16)-(18), (27));
    # a(t) gathered onto each unit's weights serves RTRL now and steps 5-7 next time
    if learns_theta:
        network.gather_inputs(act.a, params.pre, act.a_in)
    if hyper.gradient == GRAD_NBT:
        for m in range(pairs.vbar.shape[0]):
            network.propagate(params.theta, params.pre, act.a, pairs.vbar[m], pairs.v_next)
            pairs.vbar[m, :] = pairs.v_next
    elif hyper.gradient == GRAD_RTRL:
        ex = net.exact
        rtrl.advance(params.theta, params.pre, act.a, act.a_in, y, ex.G, ex.G_next, pairs.coef)
        ex.G[:] = ex.G_next
    network.transition(params.theta, params.pre, act.a, y, act.h_next, act.a_next)
    act.a[:] = act.a_next
    act.h[:] = act.h_next
    net.clock[0] = t + 1
    net.clock[1] = y


@njit(cache=True, error_model="numpy")
def _learn_theta(net, y_prev, keep, eta):
    """Steps 5-7: theta's gradient estimate, its step, NoBackTrack's reduction."""
    hyper, params, act, out = net.hyper, net.params, net.act, net.out
    pairs, grad = net.pairs, net.grad
    use_kalman = hyper.step == STEP_KALMAN
    lam = hyper.lambda_theta
    if hyper.gradient == GRAD_NBT and use_kalman and pairs.vbar.shape[0] == 1:
        # 5. gradient H G~ (eq. (12)) and 6. Kalman step (eqs. (25)-(26)) in one
        # pass: rank one hands the pass the parts of g = s * wbar + sum_i H_i w_i,
        # which is never written out.
        s = nbt.pair_weight(out.H, pairs.vbar, pairs.wscale, 0)
        nbt.sparse_gradient(out.H, act.a_in, grad.sparse)
        parts = kalman.GradientParts(pairs.wdir[0], s, grad.sparse, 1 + y_prev)
        kalman.step_outer(
            net.theta_metric, params.theta, parts, keep, lam, pairs.wdir, pairs.wsq,
            net.theta_inv_w, net.theta_scratch,
        )  # fmt: skip
    else:
        if hyper.gradient == GRAD_NBT:  # 5. eq. (12)
            nbt.gradient(out.H, pairs.vbar, pairs.wscale, pairs.wdir, y_prev, act.a_in, grad.g)
        else:
            rtrl.gradient(out.H, net.exact.G, grad.g)  # eq. (6)
        # 6. eqs. (25)-(26) (Kalman) or (12) (Euclidean)
        if use_kalman:
            parts = kalman.GradientParts(grad.g, 1.0, grad.sparse[:0], 0)
            kalman.step_outer(
                net.theta_metric, params.theta, parts, keep, lam, pairs.wdir, pairs.wsq,
                net.theta_inv_w, net.theta_scratch,
            )  # fmt: skip
        else:
            sgd.step(params.theta, grad.g, eta)
    if hyper.gradient == GRAD_NBT:
        _reduce(net, y_prev, use_kalman)


@njit(cache=True, error_model="numpy")
def _decay(t, power):
    """gamma_t = t ** -power, the forgetting rate of the Kalman accumulators.

    sqrt for the paper's 1/2 (correctly rounded, so exact everywhere); the
    project's exp and log otherwise, never the platform's pow.
    """
    if power == 0.5:
        return 1.0 / np.sqrt(t)
    if power == 1.0:
        return 1.0 / t
    return mathfn.exp(-power * mathfn.log(t))


@njit(cache=True, error_model="numpy")
def _reduce(net, y_prev, use_kalman):
    """7. Reduction (eqs. (13)-(15)) of every pair, norms from J_theta after step 6
    (the Kalman pass already left ||wdir_m||^2 in the updated metric in pairs.wsq;
    kalman.pair_norm_sq says which norm)."""
    pairs, a_in = net.pairs, net.act.a_in
    if use_kalman:
        m = net.theta_metric
        nbt.w_norms_kalman(
            m.m00, m.J0k, m.Jkk, net.hyper.lambda_theta, net.theta_inv_w, y_prev, a_in,
            pairs.w_norm,
        )  # fmt: skip
        sq = pairs.wsq
    else:
        nbt.w_norms_euclidean(a_in, pairs.w_norm)
        sq = nbt.euclidean_sq(pairs.wdir)
    for m in range(pairs.vbar.shape[0]):
        nbt.draw_signs(net.rng, pairs.signs)
        wbar_norm = pairs.wscale[m] * np.sqrt(max(sq[m], 0.0))
        nbt.reduce_pair(
            pairs.vbar[m], pairs.wscale[m : m + 1], pairs.wdir[m], wbar_norm, pairs.w_norm,
            pairs.signs, y_prev, a_in, pairs.coef,
        )  # fmt: skip


register_symbol_model(Net, predict, learn)


@njit(cache=True, error_model="numpy")
def _forward_losses(net, symbols, out):
    params, act = net.params, net.act
    for t in range(symbols.shape[0]):
        y = symbols[t]
        out[t] = -mathfn.log2(predict(net)[y])
        network.transition(params.theta, params.pre, act.a, y, act.h_next, act.a_next)
        act.a[:] = act.a_next


def forward_losses(symbols, alphabet_size, config):
    """Per-step loss of the initial network with nothing learning: the cost floor of a step."""
    symbols = np.ascontiguousarray(symbols, dtype=np.int64)
    out = np.empty(symbols.shape[0])
    _forward_losses(new_net(config, alphabet_size), symbols, out)
    return out


def online_losses(symbols, alphabet_size, config, net=None):
    """Per-step loss in bits, -log2 p(y(t)), of the model learning online over `symbols`.

    symbols: integer array with values in [0, alphabet_size). Pass `net` (from
    new_net) to continue a stream; the loop runs in jitted slices (coding.loops).
    """
    symbols = np.ascontiguousarray(symbols, dtype=np.int64)
    if symbols.size and (symbols.min() < 0 or symbols.max() >= alphabet_size):
        raise ValueError("symbols must lie in [0, alphabet_size)")
    if net is None:
        net = new_net(config, alphabet_size)
    out = np.empty(symbols.shape[0])
    for start, stop in slices(symbols.size):
        measure_symbols(net, symbols, start, stop, out)
    return out
