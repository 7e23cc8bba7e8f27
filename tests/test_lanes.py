"""lanes.tree_dots sums in its documented order, bit for bit, on every row count and width."""

import numpy as np
import pytest

from nbtzip.numeric import lanes


def _reference(row, y):
    """Eight in-order chains (lane l takes z = l, l + 8, ...; the columns past the
    last whole block go to lane 0), joined by the fixed tree, one Python float at a time."""
    s = [0.0] * 8
    blocks = len(y) // 8
    for b in range(blocks):
        for lane in range(8):
            s[lane] += float(row[8 * b + lane]) * float(y[8 * b + lane])
    for z in range(8 * blocks, len(y)):
        s[0] += float(row[z]) * float(y[z])
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))


@pytest.mark.parametrize("width", [0, 3, 8, 13, 104])
@pytest.mark.parametrize("count", [1, 4, 7])
def test_tree_dots_is_the_eight_lane_sum_bit_for_bit(width, count):
    rng = np.random.default_rng(width * 10 + count)
    # magnitudes over many decades, so any other summation order shows in the bits
    x = rng.normal(size=(count + 2, width)) * 10.0 ** rng.uniform(-8, 8, size=(count + 2, width))
    y = rng.normal(size=width)
    out = np.full(count, np.nan)
    lanes.tree_dots(x, 1, y, out)
    expected = [_reference(x[1 + i], y) for i in range(count)]
    assert out.tolist() == expected


def test_tree_dots_differs_from_a_plain_left_to_right_sum():
    # guards the test above: the order is observable at these magnitudes
    rng = np.random.default_rng(5)
    x = rng.normal(size=(1, 64)) * 10.0 ** rng.uniform(-8, 8, size=(1, 64))
    y = rng.normal(size=64)
    out = np.zeros(1)
    lanes.tree_dots(x, 0, y, out)
    plain = 0.0
    for z in range(64):
        plain += float(x[0, z]) * float(y[z])
    assert out[0] != plain
    assert out[0] == pytest.approx(plain, rel=1e-6)
