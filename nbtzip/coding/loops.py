"""The coding loops, written once for every model: predict -> code -> learn.

A model is a state (a namedtuple of arrays and named scalars, built once per
stream) and a few jitted functions over it, registered here by its state's
class. Two kinds of model exist:

    symbol model   predict(state)                the distribution of the next symbol into
                                                 the model's probabilities array (Model.probs)
                   learn(state, y)               y: the symbol that came
    binary model   begin(state)                  before a byte's first decision
                   predict_bit(state, k) -> p1   P(bit = 1) at decision node k
                   learn_bit(state, k, bit)
                   end(state, byte)              after the byte's last decision

A binary model codes a byte (a symbol of nbits bits) as 8 (nbits) decisions,
most significant bit first; decision node k is 1 for the first, then 2k + bit.
A decision whose outcome the stream's alphabet already fixes (forced[k] >= 0)
is neither coded nor asked for: begin and end always run, predict_bit and learn_bit may not.

The generic functions below (predict, learn, begin, ...) resolve at
compile time to the registered model's own function, so every loop is compiled
once per model with the model's code inlined: one source, no per-call dispatch.
Each loop is jitted once per model (kernel(name, state)): a copy of the one
source under its own name, so each model's kernels sit in a cache index of
their own. One shared index would hold every model's state type, and loading
it would import every module that ever registered a model (a test's stand-in
model broke other processes that way). Encoder and decoder are one kernel
(code_bits, code_symbols) that runs the same calls in the same order either
way; the directions differ only in where the symbol comes from. Loops take
[start, stop) so a codec can code a block in slices (signals are handled
between slices) with the coder's state, held in its array, carried from one
slice to the next.
"""

import types as pytypes

import numpy as np
from numba import njit
from numba.core import types
from numba.extending import overload

from ..numeric import mathfn
from . import rangecoder as rc

_SYMBOL_MODELS = {}  # state class -> (predict, learn)
_BINARY_MODELS = {}  # state class -> (begin, predict_bit, learn_bit, end)


def register_symbol_model(state_class, predict, learn):
    _SYMBOL_MODELS[state_class] = (predict, learn)


def register_binary_model(state_class, begin, predict_bit, learn_bit, end):
    _BINARY_MODELS[state_class] = (begin, predict_bit, learn_bit, end)


def _model_function(table, state, which):
    if isinstance(state, types.BaseNamedTuple) and state.instance_class in table:
        return table[state.instance_class][which]
    return None


# The generic calls. Outside a jitted loop they are never called.
def predict(state):
    raise TypeError("predict() runs inside jitted loops only")


def learn(state, y):
    raise TypeError("learn() runs inside jitted loops only")


def begin(state):
    raise TypeError("begin() runs inside jitted loops only")


def predict_bit(state, k):
    raise TypeError("predict_bit() runs inside jitted loops only")


def learn_bit(state, k, bit):
    raise TypeError("learn_bit() runs inside jitted loops only")


def end(state, byte):
    raise TypeError("end() runs inside jitted loops only")


@overload(predict, inline="always")
def _predict(state):
    f = _model_function(_SYMBOL_MODELS, state, 0)
    if f is not None:
        return lambda state: f(state)
    return None


@overload(learn, inline="always")
def _learn(state, y):
    f = _model_function(_SYMBOL_MODELS, state, 1)
    if f is not None:
        return lambda state, y: f(state, y)
    return None


@overload(begin, inline="always")
def _begin(state):
    f = _model_function(_BINARY_MODELS, state, 0)
    if f is not None:
        return lambda state: f(state)
    return None


@overload(predict_bit, inline="always")
def _predict_bit(state, k):
    f = _model_function(_BINARY_MODELS, state, 1)
    if f is not None:
        return lambda state, k: f(state, k)
    return None


@overload(learn_bit, inline="always")
def _learn_bit(state, k, bit):
    f = _model_function(_BINARY_MODELS, state, 2)
    if f is not None:
        return lambda state, k, bit: f(state, k, bit)
    return None


@overload(end, inline="always")
def _end(state, byte):
    f = _model_function(_BINARY_MODELS, state, 3)
    if f is not None:
        return lambda state, byte: f(state, byte)
    return None


# Symbol models: the alphabet's symbols, one frequency table per step. probs is
# the array the model's predict writes (passed in, not returned: a kernel
# compiled without reference counting may return only its own arguments).


def code_symbols(model, probs, decoding, symbols, start, stop, freqs, st, stream):
    """Encode symbols[start:stop] into stream, or, decoding, decode them from it
    into symbols: both directions in one kernel (see code_bits)."""
    for t in range(start, stop):
        predict(model)
        rc.quantize(probs, freqs)
        if decoding:
            y = rc.decode_symbol(st, stream, freqs)
            symbols[t] = y
        else:
            y = symbols[t]
            rc.encode_symbol(st, stream, freqs, y)
        learn(model, y)


def measure_symbols(model, probs, symbols, start, stop, bits):
    """bits[t] = -log2 p(symbols[t]) (unquantised), learning as the codec does."""
    for t in range(start, stop):
        y = symbols[t]
        predict(model)
        bits[t] = -mathfn.log2(probs[y])
        learn(model, y)


# Binary models: symbols as decisions, each coded out of `total` (a power of two).
# forced has 2**nbits entries for symbols of nbits bits (256 for bytes).


@njit(cache=True, error_model="numpy")
def _bits_of(forced):
    nbits = 0
    while (1 << nbits) < forced.shape[0]:
        nbits += 1
    return nbits


def code_bits(model, forced, total, decoding, symbols, start, stop, st, stream):
    """Encode symbols[start:stop] into stream, or, decoding, decode them from it
    into symbols. One kernel for both directions, so that the model's code is
    compiled once: as two loops, the first decompression after a compress
    compiled the whole model again (49 s of a 142 s first use, measured).
    Every array argument must have the same type in both directions (writable,
    C-contiguous), or numba compiles the kernel twice."""
    top = forced.shape[0]
    nbits = _bits_of(forced)
    for t in range(start, stop):
        begin(model)
        k = 1
        for b in range(nbits - 1, -1, -1):
            if decoding:
                bit = forced[k]
            else:
                bit = (np.int64(symbols[t]) >> b) & 1
            if forced[k] < 0:
                f1 = rc.bit_freq(predict_bit(model, k), total)
                if decoding:
                    bit = rc.decode_bit(st, stream, f1, total)
                else:
                    rc.encode_bit(st, stream, f1, total, bit)
                learn_bit(model, k, bit)
            k = 2 * k + bit
        byte = k - top
        if decoding:
            symbols[t] = byte
        end(model, byte)


def measure_bits(model, forced, symbols, start, stop, bits):
    """bits[t] = -log2 P(symbols[t]) (unquantised), learning as the codec does."""
    for t in range(start, stop):
        byte = symbols[t]
        begin(model)
        k = 1
        cost = 0.0
        for b in range(_bits_of(forced) - 1, -1, -1):
            bit = (byte >> b) & 1
            if forced[k] < 0:
                p1 = predict_bit(model, k)
                cost -= mathfn.log2(p1 if bit else 1.0 - p1)
                learn_bit(model, k, bit)
            k = 2 * k + bit
        bits[t] = cost
        end(model, byte)


_LOOPS = {f.__name__: f for f in (code_symbols, measure_symbols, code_bits, measure_bits)}
_KERNELS = {}


def kernel(name, state):
    """The loop `name` jitted for the model whose state this is."""
    key = (name, type(state))
    jitted = _KERNELS.get(key)
    if jitted is None:
        loop = _LOOPS[name]
        copy = pytypes.FunctionType(loop.__code__, loop.__globals__, loop.__name__)
        owner = type(state)
        copy.__qualname__ = f"{name}__{owner.__module__.replace('.', '_')}_{owner.__name__}"
        # The loops run without reference counting: numba's increments and
        # decrements of every array of a state passed to an inlined seam call
        # took ~40 % of the mixture's time (perf). A model's functions must
        # therefore never allocate, nor return an array.
        jitted = _KERNELS[key] = njit(cache=True, error_model="numpy", _nrt=False)(copy)
    return jitted
