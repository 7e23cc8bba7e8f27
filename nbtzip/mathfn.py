"""Deterministic exp, log and tanh for the coding path.

The compressed stream depends on every probability the model computes, so the
encoder and the decoder must get the same float bits on every machine. The
platform's libm does not promise that, so these functions use only + - * /,
sqrt and exact power-of-two scaling (ldexp/frexp), evaluated in a fixed order.
Accuracy is a few ulp, far more than compression needs.
"""

import math

from numba import njit

LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k * LN2_HI is exact
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e00
LN2 = 0.6931471805599453

EXP_MAX = 709.0
EXP_MIN = -745.0


@njit(cache=True)
def _expm1_small(r):
    # Taylor series of e^r - 1 for |r| <= 0.35: the 16th term is < 1e-19.
    term = r
    total = r
    for k in range(2, 17):
        term = term * r / k
        total = total + term
    return total


@njit(cache=True)
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
    return math.ldexp(1.0 + _expm1_small(r), int(k))


@njit(cache=True)
def expm1(x):
    """e**x - 1 without cancellation near 0."""
    if -0.35 <= x <= 0.35:
        return _expm1_small(x)
    return exp(x) - 1.0


@njit(cache=True)
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
    acc = 1.0 / 23.0
    for j in range(21, 0, -2):
        acc = acc * s2 + 1.0 / j
    logm = 2.0 * s * acc
    return (e * LN2_HI + logm) + e * LN2_LO


@njit(cache=True)
def log2(x):
    return log(x) * INV_LN2


@njit(cache=True)
def tanh(x):
    """tanh x = e / (e + 2) with e = expm1(2|x|), odd extension."""
    ax = abs(x)
    if ax > 22.0:
        t = 1.0
    else:
        em = expm1(2.0 * ax)
        t = em / (em + 2.0)
    return t if x >= 0.0 else -t
