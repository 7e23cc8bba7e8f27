"""Deterministic exp, log and tanh for the coding path.

The compressed stream depends on every probability the model computes, so the
encoder and the decoder must get the same float bits on every machine. The
platform's libm does not promise that, so these functions use only + - * /,
sqrt and exact power-of-two scaling (frexp, and powers of two built from their
bits), evaluated in a fixed order.
Accuracy is a few ulp, far more than compression needs.
"""

import math

from llvmlite import ir
from numba import njit, types
from numba.core.extending import intrinsic

LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k * LN2_HI is exact
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e00
LN2 = 0.6931471805599453

EXP_MAX = 709.0
EXP_MIN = -745.0


# 1/k! for the series of e^r - 1; module constants, frozen into the kernels.
_F2 = 1.0 / 2
_F3 = 1.0 / 6
_F4 = 1.0 / 24
_F5 = 1.0 / 120
_F6 = 1.0 / 720
_F7 = 1.0 / 5040
_F8 = 1.0 / 40320
_F9 = 1.0 / 362880
_F10 = 1.0 / 3628800
_F11 = 1.0 / 39916800
_F12 = 1.0 / 479001600
_F13 = 1.0 / 6227020800
_F14 = 1.0 / 87178291200

# 1/(2j+1) for the series of atanh.
_L3 = 1.0 / 3
_L5 = 1.0 / 5
_L7 = 1.0 / 7
_L9 = 1.0 / 9
_L11 = 1.0 / 11
_L13 = 1.0 / 13
_L15 = 1.0 / 15
_L17 = 1.0 / 17
_L19 = 1.0 / 19
_L21 = 1.0 / 21
_L23 = 1.0 / 23


@njit(cache=True, error_model="numpy")
def _expm1_small(r):
    # Taylor series of e^r - 1 for |r| <= 0.35, Horner form: the first omitted
    # term is below 2e-19.
    q = _F13 + r * _F14
    q = _F12 + r * q
    q = _F11 + r * q
    q = _F10 + r * q
    q = _F9 + r * q
    q = _F8 + r * q
    q = _F7 + r * q
    q = _F6 + r * q
    q = _F5 + r * q
    q = _F4 + r * q
    q = _F3 + r * q
    q = _F2 + r * q
    return r + (r * r) * q


@intrinsic
def _pow2(typingctx, k):
    """2.0**k for an int64 k in -1022..1023, its bits built directly.

    math.ldexp is a call into the C library (numba_ldexp, then scalbn): 2.4 %
    of the mixture's time under perf. A product by an exact power of two is
    the same number, correctly rounded once, as ldexp gives."""

    def codegen(context, builder, signature, args):
        bits = builder.add(args[0], ir.Constant(ir.IntType(64), 1023))
        bits = builder.shl(bits, ir.Constant(ir.IntType(64), 52))
        return builder.bitcast(bits, ir.DoubleType())

    return types.float64(types.int64), codegen


_POW2_M200 = 2.0**-200


@njit(cache=True, error_model="numpy")
def exp(x):
    """e**x: x = k ln2 + r with |r| <= ln2 / 2, e**r by series, then scale by 2**k."""
    if x != x:
        return x
    if x > EXP_MAX:
        return math.inf
    if x < EXP_MIN:
        return 0.0
    k = math.floor(x * INV_LN2 + 0.5)
    r = (x - k * LN2_HI) - k * LN2_LO
    m = 1.0 + _expm1_small(r)  # in [0.70, 1.42]
    ki = int(k)  # -1075 .. 1023
    if ki < -1021:
        # m * 2**ki may be subnormal, 2**ki itself may be: scale exactly within
        # the normal range, then round once, as ldexp does.
        return (m * _pow2(ki + 200)) * _POW2_M200
    return m * _pow2(ki)


@njit(cache=True, error_model="numpy")
def expm1(x):
    """e**x - 1 without cancellation near 0."""
    if -0.35 <= x <= 0.35:
        return _expm1_small(x)
    return exp(x) - 1.0


@njit(cache=True, error_model="numpy")
def log(x):
    """Natural log: x = m 2**e with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s)."""
    if x != x or x < 0.0:
        return math.nan
    if x == 0.0:
        return -math.inf
    if x == math.inf:
        return x
    m, e = math.frexp(x)  # m in [0.5, 1)
    if m < 0.7071067811865476:
        m = m * 2.0
        e = e - 1
    s = (m - 1.0) / (m + 1.0)  # |s| <= 0.1716
    s2 = s * s
    # 2 * (s + s^3/3 + ... + s^23/23): the next term is below 1e-19 relative.
    q = _L21 + s2 * _L23
    q = _L19 + s2 * q
    q = _L17 + s2 * q
    q = _L15 + s2 * q
    q = _L13 + s2 * q
    q = _L11 + s2 * q
    q = _L9 + s2 * q
    q = _L7 + s2 * q
    q = _L5 + s2 * q
    q = _L3 + s2 * q
    logm = 2.0 * s + (2.0 * s * s2) * q
    return (e * LN2_HI + logm) + e * LN2_LO


@njit(cache=True, error_model="numpy")
def log2(x):
    return log(x) * INV_LN2


@njit(cache=True, error_model="numpy")
def tanh(x):
    """tanh x = e / (e + 2) with e = expm1(2|x|), odd extension."""
    ax = abs(x)
    if ax > 22.0:
        t = 1.0
    else:
        em = expm1(2.0 * ax)
        t = em / (em + 2.0)
    return t if x >= 0.0 else -t
