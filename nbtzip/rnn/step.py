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
from ..coding.loops import kernel, register_symbol_model
from ..numeric import lanes, mathfn
from . import network
from .learners import kalman, nbt, rtrl, sgd, short

GRAD_NBT, GRAD_RTRL, GRAD_NONE, GRAD_SHORT = 0, 1, 2, 3
STEP_KALMAN, STEP_SGD = 0, 1
FISHER_EXACT, FISHER_OP = 0, 1
GRADIENT_CODES = {"nbt": GRAD_NBT, "rtrl": GRAD_RTRL, "none": GRAD_NONE, "short": GRAD_SHORT}
STEP_CODES = {"kalman": STEP_KALMAN, "sgd": STEP_SGD}
FISHER_CODES = {"exact": FISHER_EXACT, "op": FISHER_OP}

INV_LN2 = 1.0 / math.log(2.0)

Hyper = namedtuple(
    "Hyper",
    ["gradient", "step", "fisher", "alphabet_size", "lambda_theta", "lambda_phi", "sgd_c",
     "gamma_power"],
)  # fmt: skip
# One flat namedtuple: every group nested in its own tuple cost 10-20 % per
# byte in numba's reference counting (each sub-tuple taken out of the Net
# increments and decrements every array in it), measured on alice29.
Net = namedtuple(
    "Net",
    [
        # the network, network.py's layout: theta[c, i], pre[k, i], phi[c, z]
        "theta", "pre", "phi",
        # h(t), a(t); a_in[k, i] = a(t) on unit i's k-th weight (gather_inputs);
        # h_next, a_next: the transition's output before it becomes the present
        "h", "a", "a_in", "h_next", "a_next",
        # the readout's logits and p (eq. (28)), the output error delta, the
        # state error H = dloss/dh (eq. (11)), the readout's Fisher weights
        "logits", "p", "delta", "H", "fisher",
        # NoBackTrack's k pairs: vbar[m], wbar[m] = wscale[m] * wdir[m] (nbt.py),
        # the squared wdir norms the Kalman pass leaves, reduction workspaces
        "vbar", "wscale", "wdir", "wsq", "v_next", "w_norm", "signs", "coef",
        # RTRL's exact G = dh/dtheta and its next value (rtrl.py)
        "G", "G_next",
        # theta's gradient when written out; its sparse part (fused rank-one path)
        "g", "sparse",
        # kalman.QDMetric of theta (empty unless Kalman learns theta), 1 / D of
        # its incoming-weight rows, kalman.Scratch of the pass
        "theta_J00", "theta_J0k", "theta_Jkk", "theta_m00", "theta_inv_w",
        "acc", "g0", "acc_dir",
        # kalman.QDMetric of the readout
        "phi_J00", "phi_J0k", "phi_Jkk", "phi_m00",
        # the last K transitions of E_K / T_K (learners/short.py)
        "short",
        # the PRNG; clock = [t, y(t-1) or -1 before the first]; hyperparameters
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
    if config.gradient == "short" and config.remainder > 0.0:
        k = config.rank  # the remainder's pairs; T_K (remainder 0) keeps none
    g_rows = rows if config.gradient == "rtrl" else 0
    # rank-one NoBackTrack under Kalman never writes g out (see learn, steps 5-6)
    fused_gradient = kalman_theta and config.gradient == "nbt" and config.rank == 1
    z = np.zeros

    def sized(flag, *shape):
        return z(shape if flag else (0,) * len(shape))

    theta_metric = kalman.new_metric(*((rows, n) if kalman_theta else (0, 0)))
    phi_metric = kalman.new_metric(*((n + 1, A) if config.step == "kalman" else (0, 0)))
    scratch = kalman.new_scratch(max(n, A))
    return Net(
        theta, pre, phi,
        z(n), z(n), z((d, n)), z(n), z(n),
        z(A), z(A), z(A), z(n), z(A),
        z((k, n)), np.ones(k), z((k, rows, n)), z(k), z(n), z(n), z(n), z(n),
        sized(g_rows, n, g_rows, n), sized(g_rows, n, g_rows, n),
        sized(learns_theta and not fused_gradient, rows, n), sized(fused_gradient, 1 + d, n),
        # T_K keeps no pair, so no norms of w_i (and no 1/D tail for them)
        *theta_metric, sized(kalman_theta and not (config.gradient == "short" and k == 0), d, n),
        *scratch,
        *phi_metric,
        short.new_state(config.exact_steps, config.remainder, k, d, n)
        if config.gradient == "short" else short.empty_state(),
        state, np.array([1, -1], dtype=np.int64),
        Hyper(
            GRADIENT_CODES[config.gradient], STEP_CODES[config.step], FISHER_CODES[config.fisher],
            alphabet_size, float(config.lambda_theta), float(config.lambda_phi),
            float(config.sgd_c), float(config.gamma_power),
        ),
    )  # fmt: skip


@njit(cache=True, error_model="numpy", inline="always")
def _theta_metric(net):
    return kalman.QDMetric(net.theta_J00, net.theta_J0k, net.theta_Jkk, net.theta_m00)


@njit(cache=True, error_model="numpy", inline="always")
def _scratch(net):
    return kalman.Scratch(net.acc, net.g0, net.acc_dir)


@njit(cache=True, error_model="numpy")
def predict(net):
    """Step 1, eq. (28): the distribution of y(t) over the alphabet into net.p[:A]."""
    network.predict(net.phi, net.a, net.logits, net.p, net.hyper.alphabet_size)


@njit(cache=True, error_model="numpy")
def readout(net):
    """Eq. (28)'s logits into net.logits, without the softmax: for a model that
    makes its own (the mixture's joint softmax writes net.p[:A]; the padding of
    net.p stays 0 from new_net). It returns nothing, so a kernel compiled
    without reference counting (coding.loops, binary models) may call it.
    The mixture used to compute the network's own softmax (A exps a byte) and
    overwrite it; its saving was not measured apart from the other changes."""
    network.readout(net.phi, net.a, net.logits)


@njit(cache=True, error_model="numpy", inline="always")
def learn(net, y):
    """Steps 2-8: learn from the symbol y(t) that occurred, then move to t + 1."""
    hyper = net.hyper
    use_kalman = hyper.step == STEP_KALMAN
    t = net.clock[0]
    y_prev = net.clock[1]
    n = net.a.shape[0]
    A = net.p.shape[0]
    gamma = _decay(float(t), hyper.gamma_power)
    eta = hyper.sgd_c / (n * np.sqrt(float(t)))

    # 2. output error, loss in bits: delta_z = (p_z - [z = y]) / ln 2
    for z in range(A):
        net.delta[z] = net.p[z] * INV_LN2
    net.delta[y] -= INV_LN2
    # 3. state error H = dloss/dh (eq. (11)), before phi moves (theta learners only)
    learns_theta = hyper.gradient != GRAD_NONE
    if learns_theta:
        network.state_error(net.phi, net.a, net.delta, net.H)

    # 4. readout step, eqs. (22)-(24) (Kalman) or (10) (Euclidean)
    if use_kalman:
        if hyper.fisher == FISHER_EXACT:
            for z in range(A):
                net.fisher[z] = net.p[z] * (1.0 - net.p[z]) * (INV_LN2 * INV_LN2)
        else:
            for z in range(A):
                net.fisher[z] = net.delta[z] * net.delta[z]
        metric = kalman.QDMetric(net.phi_J00, net.phi_J0k, net.phi_Jkk, net.phi_m00)
        kalman.step_readout(
            metric, net.phi, net.a, net.fisher, net.delta, 1.0 - gamma, hyper.lambda_phi, net.acc
        )
    else:
        sgd.step_readout(net.phi, net.a, net.delta, eta)

    # 5-7. theta: gradient estimate, step, reduction. At t = 1 there was no
    # transition yet, so G = 0 and there is nothing to learn or reduce.
    if learns_theta and y_prev >= 0:
        _learn_theta(net, y_prev, 1.0 - gamma, eta)

    # 8. transition with the updated theta, x(t) = y(t) (eqs. (16)-(18), (27));
    # a(t) gathered onto each unit's weights serves RTRL now and steps 5-7 next time
    if learns_theta and hyper.gradient != GRAD_SHORT:  # short.record gathers its own
        network.gather_inputs(net.a, net.pre, net.a_in)
    if hyper.gradient == GRAD_NBT:
        for m in range(net.vbar.shape[0]):
            network.propagate(net.theta, net.pre, net.a, net.vbar[m], net.v_next)
            lanes.copy(net.vbar[m], net.v_next)
    elif hyper.gradient == GRAD_SHORT:
        _advance_short(net, y, t, use_kalman)
    elif hyper.gradient == GRAD_RTRL:
        rtrl.advance(net.theta, net.pre, net.a, net.a_in, y, net.G, net.G_next, net.coef)
        lanes.copy(net.G, net.G_next)
    network.transition(net.theta, net.pre, net.a, y, net.h_next, net.a_next)
    lanes.copy(net.a, net.a_next)
    lanes.copy(net.h, net.h_next)
    net.clock[0] = t + 1
    net.clock[1] = y


@njit(cache=True, error_model="numpy", inline="always")
def _learn_theta(net, y_prev, keep, eta):
    """Steps 5-7: theta's gradient estimate, its step, NoBackTrack's reduction."""
    hyper = net.hyper
    use_kalman = hyper.step == STEP_KALMAN
    lam = hyper.lambda_theta
    if hyper.gradient == GRAD_NBT and use_kalman and net.vbar.shape[0] == 1:
        # 5. gradient H G~ (eq. (12)) and 6. Kalman step (eqs. (25)-(26)) in one
        # pass: rank one hands the pass the parts of g = s * wbar + sum_i H_i w_i,
        # which is never written net.
        s = nbt.pair_weight(net.H, net.vbar, net.wscale, 0)
        nbt.sparse_gradient(net.H, net.a_in, net.sparse)
        parts = kalman.GradientParts(net.wdir[0], s, net.sparse, 1 + y_prev)
        kalman.step_outer(
            _theta_metric(net), net.theta, parts, keep, lam, net.wdir, net.wsq,
            net.theta_inv_w, _scratch(net),
        )  # fmt: skip
    else:
        if hyper.gradient == GRAD_NBT:  # 5. eq. (12)
            nbt.gradient(net.H, net.vbar, net.wscale, net.wdir, y_prev, net.a_in, net.g)
        elif hyper.gradient == GRAD_SHORT:  # exact last K steps + c * remainder
            st = net.short
            short.remainder_gradient(net.H, net.vbar, net.wscale, net.wdir, st.weight[0], net.g)
            t = net.clock[0]
            short.exact_gradient(net.H, net.pre, st.ain, st.jac, st.sym, t, net.g, st.u, st.u_next)
        else:
            rtrl.gradient(net.H, net.G, net.g)  # eq. (6)
        # 6. eqs. (25)-(26) (Kalman) or (12) (Euclidean)
        if use_kalman:
            parts = kalman.GradientParts(net.g, 1.0, net.sparse[:0], 0)
            kalman.step_outer(
                _theta_metric(net), net.theta, parts, keep, lam, net.wdir, net.wsq,
                net.theta_inv_w, _scratch(net),
            )  # fmt: skip
        else:
            sgd.step(net.theta, net.g, eta)
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


@njit(cache=True, error_model="numpy", inline="always")
def _reduce(net, y_prev, use_kalman):
    """7. Reduction (eqs. (13)-(15)) of every pair, norms from J_theta after step 6
    (the Kalman pass already left ||wdir_m||^2 in the updated metric in net.wsq;
    kalman.pair_norm_sq says which norm)."""
    a_in = net.a_in
    if use_kalman:
        nbt.w_norms_kalman(
            net.theta_m00, net.theta_J0k, net.theta_Jkk, net.hyper.lambda_theta, net.theta_inv_w,
            y_prev, a_in, net.w_norm,
        )  # fmt: skip
        sq = net.wsq
    else:
        nbt.w_norms_euclidean(a_in, net.w_norm)
        nbt.euclidean_sq_into(net.wdir, net.wsq, net.acc)
        sq = net.wsq
    for m in range(net.vbar.shape[0]):
        nbt.draw_signs(net.rng, net.signs)
        wbar_norm = net.wscale[m] * np.sqrt(max(sq[m], 0.0))
        nbt.reduce_pair(
            net.vbar[m], net.wscale[m : m + 1], net.wdir[m], wbar_norm, net.w_norm,
            net.signs, y_prev, a_in, net.coef,
        )  # fmt: skip


@njit(cache=True, error_model="numpy")
def _advance_short(net, y, t, use_kalman):
    """Record transition t (updated theta, a(t), y(t)); move the remainder pairs, norms
    from J_theta after step 6 (Kalman) or Euclidean, as _reduce does for NoBackTrack."""
    st = net.short
    short.record(net.theta, net.pre, net.a, y, st.ain, st.jac, st.sym, t % st.sym.shape[0])
    if net.vbar.shape[0] == 0:
        return
    if not use_kalman:
        nbt.euclidean_sq_into(net.wdir, net.wsq, net.acc)
    sq = net.wsq
    if short.folds(t, st.sym):
        for m in range(net.vbar.shape[0]):
            nbt.draw_signs(net.rng, st.signs[m])
    metric = (net.theta_m00, net.theta_J0k, net.theta_Jkk, net.hyper.lambda_theta)
    short.advance_remainder(
        net.pre, t, st.ain, st.jac, st.sym, net.vbar, net.wscale, net.wdir, sq, st.signs,
        net.coef, st.col, st.col_next, st.x, st.x_next, st.jv, st.w_norm, metric,
        net.theta_inv_w, use_kalman,
    )  # fmt: skip


register_symbol_model(Net, predict, learn)


@njit(cache=True, error_model="numpy")
def _forward_losses(net, symbols, out):
    for t in range(symbols.shape[0]):
        y = symbols[t]
        predict(net)
        out[t] = -mathfn.log2(net.p[y])
        network.transition(net.theta, net.pre, net.a, y, net.h_next, net.a_next)
        lanes.copy(net.a, net.a_next)


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
    measure = kernel("measure_symbols", net)
    probs = net.p[:alphabet_size]
    for start, stop in slices(symbols.size):
        measure(net, probs, symbols, start, stop, out)
    return out
