"""Sums of products in eight in-order lanes, as explicit vector code.

A dot product over the alphabet (the state error of eq. (11)) is summed as
eight chains, lane l adding the terms z = l, l + 8, l + 16, ... in order, and
the chains are joined by a fixed tree. That order is the same on every machine,
and it is exactly what one 8-wide vector accumulator computes: each lane does
its own IEEE multiply and add. numba leaves LLVM's SLP vectoriser off, so eight
scalar chains stay scalar (and latency-bound); here the loop is written as
<8 x double> operations directly. LLVM splits them into whatever registers the
CPU has (2 doubles each on a generic x86-64), lane by lane, so the bits do not
depend on the CPU. Four rows go through one loop so that their chains overlap.
"""

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

LANES = 8
ROWS = 4  # rows summed together by _lane_sums_4


def _lane_sums_intrinsic(rows):
    """An intrinsic (x, c, y) -> the LANES partial sums of each of x's rows c .. c + rows - 1
    with y over the whole blocks of LANES columns (row-major tuple)."""

    @intrinsic
    def lane_sums(typingctx, x, c, y):
        f64 = types.float64
        if not (
            isinstance(x, types.Array)
            and x.ndim == 2
            and x.dtype == f64
            and x.layout == "C"
            and isinstance(y, types.Array)
            and y.ndim == 1
            and y.dtype == f64
            and y.layout == "C"
            and isinstance(c, types.Integer)
        ):
            return None  # vector loads need rows of unit stride
        sig = types.UniTuple(f64, LANES * rows)(x, c, y)

        def codegen(context, builder, signature, args):
            xtype, ctype, ytype = signature.args
            xarr = context.make_array(xtype)(context, builder, args[0])
            yarr = context.make_array(ytype)(context, builder, args[2])
            i64 = ir.IntType(64)
            vec = ir.VectorType(ir.DoubleType(), LANES)
            block_bytes = ir.Constant(i64, LANES * 8)
            row_bytes = cgutils.unpack_tuple(builder, xarr.strides, 2)[0]
            width = cgutils.unpack_tuple(builder, yarr.shape, 1)[0]
            first = context.cast(builder, args[1], ctype, types.int64)
            x0 = builder.add(builder.ptrtoint(xarr.data, i64), builder.mul(first, row_bytes))
            y0 = builder.ptrtoint(yarr.data, i64)
            zero = ir.Constant(vec, [0.0] * LANES)
            accs = [cgutils.alloca_once_value(builder, zero) for _ in range(rows)]
            blocks = builder.sdiv(width, ir.Constant(i64, LANES))
            with cgutils.for_range(builder, blocks) as loop:
                offset = builder.mul(loop.index, block_bytes)
                y_addr = builder.inttoptr(builder.add(y0, offset), vec.as_pointer())
                vy = builder.load(y_addr, align=8)
                for r in range(rows):
                    row = builder.add(x0, builder.mul(ir.Constant(i64, r), row_bytes))
                    addr = builder.inttoptr(builder.add(row, offset), vec.as_pointer())
                    vx = builder.load(addr, align=8)
                    total = builder.fadd(builder.load(accs[r]), builder.fmul(vx, vy))
                    builder.store(total, accs[r])
            sums = []
            for r in range(rows):
                total = builder.load(accs[r])
                for lane in range(LANES):
                    sums.append(builder.extract_element(total, ir.Constant(ir.IntType(32), lane)))
            return context.make_tuple(builder, signature.return_type, sums)

        return sig, codegen

    return lane_sums


_lane_sums_1 = _lane_sums_intrinsic(1)
_lane_sums_4 = _lane_sums_intrinsic(ROWS)


@njit(cache=True, error_model="numpy")
def _join(s, base, x, c, y):
    """Adds the columns past the last whole block to lane 0, then the fixed tree."""
    s0 = s[base]
    width = y.shape[0]
    for z in range(width - width % LANES, width):
        s0 += x[c, z] * y[z]
    return ((s0 + s[base + 1]) + (s[base + 2] + s[base + 3])) + (
        (s[base + 4] + s[base + 5]) + (s[base + 6] + s[base + 7])
    )


@njit(cache=True, error_model="numpy")
def tree_dots(x, first_row, y, out):
    """out[i] = sum_z x[first_row + i, z] y[z], each in the eight-lane order above."""
    count = out.shape[0]
    i = 0
    while i + ROWS <= count:
        c = first_row + i
        s = _lane_sums_4(x, c, y)
        out[i] = _join(s, 0, x, c, y)
        out[i + 1] = _join(s, LANES, x, c + 1, y)
        out[i + 2] = _join(s, 2 * LANES, x, c + 2, y)
        out[i + 3] = _join(s, 3 * LANES, x, c + 3, y)
        i += ROWS
    while i < count:
        c = first_row + i
        out[i] = _join(_lane_sums_1(x, c, y), 0, x, c, y)
        i += 1


# Whole-array copy and fill as element loops: a slice assignment (a[:] = b)
# needs numba's reference counting, which the binary models' coding loops are
# compiled without (coding/loops.py). Any shape, C-contiguous.


@njit(cache=True, inline="always")
def copy(dst, src):
    """dst[...] = src, element by element (same shape)."""
    d = dst.reshape(dst.size)
    s = src.reshape(src.size)
    for i in range(d.shape[0]):
        d[i] = s[i]


@njit(cache=True, inline="always")
def fill(dst, value):
    """dst[...] = value."""
    d = dst.reshape(dst.size)
    for i in range(d.shape[0]):
        d[i] = value
