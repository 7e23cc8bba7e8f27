"""One time step of online learning: predict y(t), then learn from it.

A learner is a gradient estimate for theta (NoBackTrack rank k, exact RTRL, or
none = theta frozen) times a step rule (quasi-diagonal Kalman or Euclidean SGD);
ALGORITHMS.md section 2 lists the steps this module follows, numbered the same.
The codec (engine.py) and online_losses() call exactly these two functions, so
the compressor learns exactly what the benchmarks measure.

All model state lives in a Net (a namedtuple of numpy arrays), built once per
stream by new_net() and mutated in place by the jitted step, so it carries from
one block to the next.
"""

import math
from collections import namedtuple

import numpy as np
from numba import njit

from . import mathfn, rnn
from .learners import kalman, nbt, rtrl, sgd, short

GRAD_NBT, GRAD_RTRL, GRAD_NONE, GRAD_SHORT = 0, 1, 2, 3
STEP_KALMAN, STEP_SGD = 0, 1
FISHER_EXACT, FISHER_OP = 0, 1

INV_LN2 = 1.0 / math.log(2.0)

Net = namedtuple(
    "Net",
    [
        # model (rnn.py layout)
        "theta",
        "pre",
        "phi",
        "h",
        "a",
        "a_in",
        "h_next",
        "a_next",
        # prediction and errors
        "logits",
        "p",
        "delta",
        "H",
        "fisher",
        # gradient estimates: NoBackTrack pairs, RTRL's G, the theta gradient
        "vbar",
        "wscale",
        "wbar",
        "v_next",
        "G",
        "G_next",
        "g",
        "sparse",
        # Kalman accumulators (kalman.py layout) and solve workspaces
        "jt00",
        "jt0k",
        "jtkk",
        "mt00",
        "jp00",
        "jp0k",
        "jpkk",
        "mp00",
        "wsq",
        "inv_w",
        "w_norm",
        "signs",
        "coef",
        "acc1",
        "acc2",
        "g0",
        # the last K transitions of E_K / T_K (learners/short.py)
        "short",
        # PRNG state; counters = [t, previous symbol or -1]
        "rng",
        "counters",
        # hyperparameters: ints [gradient, step, fisher, alphabet size],
        # floats [lambda_theta, lambda_phi, sgd_c, gamma_power]
        "ihyper",
        "fhyper",
    ],
)


def new_net(config, alphabet_size):
    """The initial state of a stream: sparse random theta, zero readout, h(0) = 0."""
    n = config.hidden_size
    theta, pre, phi, state = rnn.init_params(
        config.seed, n, alphabet_size, config.fan_in, config.sigma_w, config.sigma_r
    )
    A = phi.shape[1]  # readout width, padded past the alphabet
    rows = theta.shape[0]
    learns_theta = config.gradient != "none"
    kalman_theta = learns_theta and config.step == "kalman"
    kalman_phi = config.step == "kalman"
    k = config.rank if config.gradient == "nbt" else 0
    if config.gradient == "short" and config.remainder > 0.0:
        k = config.rank  # the remainder's pairs; T_K (remainder 0) keeps none
    g_rows = rows if config.gradient == "rtrl" else 0
    # rank-one NoBackTrack under Kalman never writes g out (see learn, steps 5-6)
    fused_gradient = kalman_theta and config.gradient == "nbt" and config.rank == 1

    def z(*shape):
        return np.zeros(shape)

    def sized(flag, *shape):
        return z(*shape) if flag else z(*([0] * len(shape)))

    ihyper = np.array(
        [
            {"nbt": GRAD_NBT, "rtrl": GRAD_RTRL, "none": GRAD_NONE, "short": GRAD_SHORT}[
                config.gradient
            ],
            {"kalman": STEP_KALMAN, "sgd": STEP_SGD}[config.step],
            {"exact": FISHER_EXACT, "op": FISHER_OP}[config.fisher],
            alphabet_size,
        ],
        dtype=np.int64,
    )
    fhyper = np.array([config.lambda_theta, config.lambda_phi, config.sgd_c, config.gamma_power])
    return Net(
        theta=theta, pre=pre, phi=phi,
        h=z(n), a=z(n), a_in=z(pre.shape[0], n), h_next=z(n), a_next=z(n),
        logits=z(A), p=z(A), delta=z(A), H=z(n), fisher=z(A),
        vbar=z(k, n), wscale=np.ones(k), wbar=z(k, rows, n), wsq=z(k), v_next=z(n),
        # T_K keeps no pair, so no norms of w_i (and no 1/D tail for them)
        inv_w=sized(kalman_theta and not (config.gradient == "short" and k == 0), pre.shape[0], n),
        G=z(n if g_rows else 0, g_rows, n if g_rows else 0),
        G_next=z(n if g_rows else 0, g_rows, n if g_rows else 0),
        g=sized(learns_theta and not fused_gradient, rows, n),
        sparse=sized(fused_gradient, 1 + pre.shape[0], n),
        jt00=sized(kalman_theta, n), jt0k=sized(kalman_theta, rows, n),
        jtkk=sized(kalman_theta, rows, n), mt00=sized(kalman_theta, n),
        jp00=sized(kalman_phi, A), jp0k=sized(kalman_phi, n + 1, A),
        jpkk=sized(kalman_phi, n + 1, A), mp00=sized(kalman_phi, A),
        w_norm=z(n), signs=z(n), coef=z(n), acc1=z(max(n, A)), acc2=z(max(n, A)),
        g0=z(n),
        short=(
            short.new_state(config.exact_steps, config.remainder, k, pre.shape[0], n)
            if config.gradient == "short" else short.empty_state()
        ),
        rng=state, counters=np.array([1, -1], dtype=np.int64),
        ihyper=ihyper, fhyper=fhyper,
    )  # fmt: skip


@njit(cache=True, error_model="numpy")
def predict(net):
    """Step 1, eq. (28): fills net.p with the distribution of y(t)."""
    rnn.predict(net.phi, net.a, net.logits, net.p, net.ihyper[3])


@njit(cache=True, error_model="numpy")
def learn(net, y):
    """Steps 2-8: learn from the symbol y(t) that occurred, then move to t + 1."""
    grad_kind = net.ihyper[0]
    use_kalman = net.ihyper[1] == STEP_KALMAN
    t = net.counters[0]
    y_prev = net.counters[1]
    has_prev = y_prev >= 0
    n = net.a.shape[0]
    A = net.p.shape[0]
    lam_theta = net.fhyper[0]
    lam_phi = net.fhyper[1]
    gamma = _decay(float(t), net.fhyper[3])
    eta = net.fhyper[2] / (n * np.sqrt(float(t)))

    # 2. output error, loss in bits: delta_z = (p_z - [z = y]) / ln 2
    for z in range(A):
        net.delta[z] = net.p[z] * INV_LN2
    net.delta[y] -= INV_LN2
    # 3. state error H = dloss/dh (eq. (11)), before phi moves (theta learners only)
    learns_theta = grad_kind != GRAD_NONE
    if learns_theta:
        rnn.state_error(net.phi, net.a, net.delta, net.H)

    # 4. readout step, eqs. (22)-(24) (Kalman) or (10) (Euclidean)
    if use_kalman:
        if net.ihyper[2] == FISHER_EXACT:
            for z in range(A):
                net.fisher[z] = net.p[z] * (1.0 - net.p[z]) * (INV_LN2 * INV_LN2)
        else:
            for z in range(A):
                net.fisher[z] = net.delta[z] * net.delta[z]
        kalman.step_readout(
            net.jp00, net.jp0k, net.jpkk, net.phi, net.a, net.fisher, net.delta,
            1.0 - gamma, lam_phi, net.mp00, net.acc1,
        )  # fmt: skip
    else:
        sgd.step_readout(net.phi, net.a, net.delta, eta)

    # 5-7. theta: gradient estimate, step, reduction. At t = 1 there was no
    # transition yet, so G = 0 and there is nothing to learn or reduce.
    if learns_theta and has_prev:
        keep = 1.0 - gamma
        if grad_kind == GRAD_NBT and use_kalman and net.vbar.shape[0] == 1:
            # 5. gradient H G~ (eq. (12)) and 6. Kalman step (eqs. (25)-(26))
            # in one pass: rank one hands the pass the parts of
            # g = s * wbar + sum_i H_i w_i, which is never written out.
            s = nbt.pair_weight(net.H, net.vbar, net.wscale, 0)
            nbt.sparse_gradient(net.H, net.a_in, net.sparse)
            kalman.step_outer(
                net.jt00, net.jt0k, net.jtkk, net.theta, net.wbar[0], s, net.sparse,
                1 + y_prev, keep, lam_theta, net.mt00, net.acc1, net.g0,
                net.wbar, net.wsq, net.acc2, net.inv_w,
            )  # fmt: skip
        else:
            if grad_kind == GRAD_NBT:  # 5. eq. (12)
                nbt.gradient(
                    net.H, net.vbar, net.wscale, net.wbar, True, y_prev, net.a_in, net.g,
                )  # fmt: skip
            elif grad_kind == GRAD_SHORT:  # exact last K steps + c * remainder
                short.remainder_gradient(
                    net.H, net.vbar, net.wscale, net.wbar, net.short.weight[0], net.g
                )
                short.exact_gradient(
                    net.H, net.pre, net.short.ain, net.short.jac, net.short.sym, t, net.g,
                    net.short.u, net.short.u_next,
                )  # fmt: skip
            else:
                rtrl.gradient(net.H, net.G, net.g)  # eq. (6)
            # 6. eqs. (25)-(26) (Kalman) or (12) (Euclidean)
            if use_kalman:
                kalman.step_outer(
                    net.jt00, net.jt0k, net.jtkk, net.theta, net.g, 1.0, net.sparse[:0], 0,
                    keep, lam_theta, net.mt00, net.acc1, net.g0, net.wbar, net.wsq,
                    net.acc2, net.inv_w,
                )  # fmt: skip
            else:
                sgd.step(net.theta, net.g, eta)
        if grad_kind == GRAD_NBT:
            _reduce(net, y_prev, use_kalman)

    # 8. transition with the updated theta, x(t) = y(t) (eqs. (16)-(18), (27));
    # a(t) gathered onto each unit's weights serves RTRL now and steps 5-7 next time
    if learns_theta and grad_kind != GRAD_SHORT:  # short.record gathers its own
        rnn.gather_inputs(net.a, net.pre, net.a_in)
    if grad_kind == GRAD_NBT:
        for m in range(net.vbar.shape[0]):
            rnn.propagate(net.theta, net.pre, net.a, net.vbar[m], net.v_next)
            net.vbar[m, :] = net.v_next
    elif grad_kind == GRAD_SHORT:
        _advance_short(net, y, t, use_kalman)
    elif grad_kind == GRAD_RTRL:
        rtrl.advance(net.theta, net.pre, net.a, net.a_in, y, net.G, net.G_next, net.coef)
        net.G[:] = net.G_next
    rnn.transition(net.theta, net.pre, net.a, y, net.h_next, net.a_next)
    net.a[:] = net.a_next
    net.h[:] = net.h_next
    net.counters[0] = t + 1
    net.counters[1] = y


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
    (the Kalman pass already left ||wdir_m||^2 in the updated metric in net.wsq;
    kalman.pair_norm_sq says which norm)."""
    if use_kalman:
        nbt.w_norms_kalman(
            net.mt00, net.jt0k, net.jtkk, net.fhyper[0], net.inv_w, y_prev, net.a_in,
            net.w_norm,
        )  # fmt: skip
        sq = net.wsq
    else:
        nbt.w_norms_euclidean(net.a_in, net.w_norm)
        sq = nbt.euclidean_sq(net.wbar)
    for m in range(net.vbar.shape[0]):
        nbt.draw_signs(net.rng, net.signs)
        wbar_norm = net.wscale[m] * np.sqrt(max(sq[m], 0.0))
        nbt.reduce_pair(
            net.vbar[m], net.wscale[m:m + 1], net.wbar[m], wbar_norm, net.w_norm, net.signs,
            y_prev, net.a_in, net.coef,
        )  # fmt: skip


@njit(cache=True, error_model="numpy")
def _advance_short(net, y, t, use_kalman):
    """Record transition t (updated theta, a(t), y(t)); move the remainder pairs, norms
    from J_theta after step 6 (Kalman) or Euclidean, as _reduce does for NoBackTrack."""
    st = net.short
    short.record(net.theta, net.pre, net.a, y, st.ain, st.jac, st.sym, t % st.sym.shape[0])
    if net.vbar.shape[0] == 0:
        return
    sq = net.wsq if use_kalman else nbt.euclidean_sq(net.wbar)
    if short.folds(t, st.sym):
        for m in range(net.vbar.shape[0]):
            nbt.draw_signs(net.rng, st.signs[m])
    short.advance_remainder(
        net.pre, t, st.ain, st.jac, st.sym, net.vbar, net.wscale, net.wbar, sq, st.signs,
        net.coef, st.col, st.col_next, st.x, st.x_next, st.jv, st.w_norm,
        (net.mt00, net.jt0k, net.jtkk, net.fhyper[0]), net.inv_w, use_kalman,
    )  # fmt: skip


@njit(cache=True, error_model="numpy")
def _losses(net, symbols, out):
    for t in range(symbols.shape[0]):
        predict(net)
        y = symbols[t]
        out[t] = -mathfn.log2(net.p[y])
        learn(net, y)


@njit(cache=True, error_model="numpy")
def _forward_losses(net, symbols, out):
    for t in range(symbols.shape[0]):
        predict(net)
        y = symbols[t]
        out[t] = -mathfn.log2(net.p[y])
        rnn.transition(net.theta, net.pre, net.a, y, net.h_next, net.a_next)
        net.a[:] = net.a_next


def forward_losses(symbols, alphabet_size, config):
    """Per-step loss of the initial network with nothing learning: the cost floor of a step."""
    symbols = np.ascontiguousarray(symbols, dtype=np.int64)
    out = np.empty(symbols.shape[0])
    _forward_losses(new_net(config, alphabet_size), symbols, out)
    return out


def online_losses(symbols, alphabet_size, config, net=None):
    """Per-step loss in bits, -log2 p(y(t)), of the model learning online over `symbols`.

    symbols: integer array with values in [0, alphabet_size). Pass `net` (from
    new_net) to continue a stream; the whole loop runs in one jitted call.
    """
    symbols = np.ascontiguousarray(symbols, dtype=np.int64)
    if symbols.size and (symbols.min() < 0 or symbols.max() >= alphabet_size):
        raise ValueError("symbols must lie in [0, alphabet_size)")
    if net is None:
        net = new_net(config, alphabet_size)
    out = np.empty(symbols.shape[0])
    _losses(net, symbols, out)
    return out
