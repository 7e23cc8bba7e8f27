"""The deterministic transcendentals agree with numpy and reproduce exactly."""

import math

import numpy as np
from numba import njit

from nbtzip.numeric import mathfn


@njit(cache=True)
def _apply(kind, xs, out):
    for k in range(xs.shape[0]):
        if kind == 0:
            out[k] = mathfn.exp(xs[k])
        elif kind == 1:
            out[k] = mathfn.log(xs[k])
        elif kind == 2:
            out[k] = mathfn.tanh(xs[k])
        else:
            out[k] = mathfn.expm1(xs[k])


def _ours(kind, xs):
    out = np.empty_like(xs)
    _apply(kind, xs, out)
    return out


def _rel_err(ours, ref):
    return np.max(np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-300))


def test_exp_matches_numpy_over_working_range():
    xs = np.concatenate([np.linspace(-700, 700, 20001), np.linspace(-1e-8, 1e-8, 101)])
    assert _rel_err(_ours(0, xs), np.exp(xs)) < 1e-14


def test_log_matches_numpy_including_near_one():
    rng = np.random.default_rng(0)
    xs = np.concatenate(
        [10.0 ** rng.uniform(-300, 300, 20000), 1.0 + rng.uniform(-1e-3, 1e-3, 2000)]
    )
    assert _rel_err(_ours(1, xs), np.log(xs)) < 1e-14


def test_tanh_matches_numpy_including_tiny_arguments():
    xs = np.concatenate([np.linspace(-30, 30, 20001), np.geomspace(1e-12, 1, 500)])
    assert _rel_err(_ours(2, xs), np.tanh(xs)) < 1e-14


def test_expm1_keeps_relative_accuracy_near_zero():
    xs = np.concatenate([np.geomspace(1e-15, 5, 1000), -np.geomspace(1e-15, 5, 1000)])
    assert _rel_err(_ours(3, xs), np.expm1(xs)) < 1e-14


def test_special_values():
    assert _ours(0, np.array([1000.0]))[0] == np.inf
    assert _ours(0, np.array([-1000.0]))[0] == 0.0
    assert _ours(1, np.array([0.0]))[0] == -np.inf
    assert np.isnan(_ours(1, np.array([-1.0]))[0])
    assert list(_ours(2, np.array([-50.0, 50.0]))) == [-1.0, 1.0]


def test_results_are_bit_reproducible():
    xs = np.random.default_rng(1).normal(0, 5, 5000)
    for kind in range(4):
        a = _ours(kind, np.abs(xs) if kind == 1 else xs)
        b = _ours(kind, np.abs(xs) if kind == 1 else xs)
        assert a.tobytes() == b.tobytes()


def _exp_by_ldexp(x):
    # The formula mathfn.exp computes, with the C library's ldexp for the scaling.
    k = np.floor(x * mathfn.INV_LN2 + 0.5)
    r = (x - k * mathfn.LN2_HI) - k * mathfn.LN2_LO
    return math.ldexp(1.0 + mathfn._expm1_small(r), int(k))


def test_exp_scales_by_two_to_the_k_exactly_as_ldexp_does():
    # Bit for bit: files written before the scaling was built from bits must
    # decode. The tail below -708 is where results are subnormal and rounded.
    rng = np.random.default_rng(7)
    xs = np.concatenate(
        [
            rng.uniform(-745.0, 709.0, 3000),
            rng.uniform(-745.0, -700.0, 3000),
            rng.uniform(-40.0, 40.0, 3000),
            np.array([-745.0, -744.44, -708.4, -707.7, 0.0, -0.0, 1e-300, 709.0]),
        ]
    )
    ours = _ours(0, xs)
    ref = np.array([_exp_by_ldexp(float(x)) for x in xs])
    assert ours.view(np.int64).tolist() == ref.view(np.int64).tolist()
    assert np.count_nonzero((ours > 0) & (ours < np.finfo(np.float64).tiny)) > 100
