"""The bundled CTW compressor: exact against the definition, and byte-exact round trips."""

import math
from fractions import Fraction

import numpy as np
import pytest

from nbtzip.coding.codec import forced_decisions as forced_bits
from nbtzip.coding.rangecoder import bit_freq
from nbtzip.config import CTWConfig
from nbtzip.ctw.model import FREQ_TOTAL, CTWModel, code_lengths
from nbtzip.ctw.tree import kt_p1
from nbtzip.models import make_codec

ALL_BYTES = np.ones(256, dtype=bool)


def _alphabet(data):
    present = np.zeros(256, dtype=bool)
    present[np.frombuffer(data, dtype=np.uint8)] = True
    return present


def _text(n, seed=0):
    rng = np.random.default_rng(seed)
    words = "the quick brown fox jumps over a lazy dog and then sat on the mat again".split()
    out = []
    while sum(len(w) + 1 for w in out) < n:
        w = words[int(rng.integers(len(words)))]
        out.append(w.capitalize() if rng.random() < 0.1 else w)
    return (" ".join(out) + ".\n").encode()[:n]


def _round_trip(config, blocks, alphabet=ALL_BYTES):
    enc = make_codec(config, alphabet)
    payloads = [enc.encode_block(b) for b in blocks]
    dec = make_codec(config, alphabet)
    return [dec.decode_block(p, len(b)) for p, b in zip(payloads, blocks, strict=True)], payloads


# ---- the estimator and the weighting, against their closed forms -------------------------


def test_kt_sequential_probability_equals_gamma_closed_form():
    rng = np.random.default_rng(1)
    for _ in range(50):
        alpha_inv = int(rng.integers(1, 33))
        alpha = 1.0 / alpha_inv
        n = int(rng.integers(1, 200))
        bits = rng.random(n) < rng.random()
        log_seq = 0.0
        n0 = n1 = 0
        for bit in bits:
            p1 = kt_p1(n0, n1, alpha_inv)
            log_seq += math.log(p1 if bit else 1.0 - p1)
            n1 += int(bit)
            n0 += int(not bit)
        closed = (
            math.lgamma(n0 + alpha)
            + math.lgamma(n1 + alpha)
            + math.lgamma(2 * alpha)
            - 2 * math.lgamma(alpha)
            - math.lgamma(n0 + n1 + 2 * alpha)
        )
        assert log_seq == pytest.approx(closed, rel=1e-9, abs=1e-9)


def _kt_block(n0, n1, alpha):
    # Product of the sequential KT probabilities: it depends on the counts only.
    p = Fraction(1)
    for i in range(n0):
        p *= i + alpha
    for i in range(n1):
        p *= i + alpha
    for i in range(n0 + n1):
        p /= i + 2 * alpha
    return p


def _ctw_brute_force(symbols, nbits, depth, alpha):
    """P(sequence) straight from the definition, one full A-ary context tree per decision.

    Contexts before the start read as symbol 0. P_w(s) = P_e(s) at depth D, else
    1/2 P_e(s) + 1/2 prod over the A children of P_w(child) (an unvisited subtree has P_w = 1).
    """
    events = {}  # tree k -> list of (context tuple, most recent first; bit)
    history = [0] * depth + list(symbols)
    for t, sym in enumerate(symbols):
        context = tuple(history[depth + t - d] for d in range(1, depth + 1))
        k = 1
        for b in range(nbits - 1, -1, -1):
            bit = (sym >> b) & 1
            events.setdefault(k, []).append((context, bit))
            k = 2 * k + bit

    def weighted(evs, d):
        n1 = sum(bit for _, bit in evs)
        pe = _kt_block(len(evs) - n1, n1, alpha)
        if d == depth:
            return pe
        children = Fraction(1)
        for c in sorted({ctx[d] for ctx, _ in evs}):
            children *= weighted([e for e in evs if e[0][d] == c], d + 1)
        return (pe + children) / 2

    total = Fraction(1)
    for evs in events.values():
        total *= weighted(evs, 0)
    return total


@pytest.mark.parametrize("nbits", [1, 2])
@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_ctw_sequence_probability_equals_brute_force_definition(nbits, depth):
    rng = np.random.default_rng(10 * nbits + depth)
    # No halving and a clamp far beyond anything these short sequences reach.
    config = CTWConfig(depth=depth, alpha_inv=2, beta_clamp=64.0, table_bits=16, count_limit=255)
    for trial in range(6):
        n = int(rng.integers(5, 30))
        # Skewed, repetitive sequences make singletons unroll at every depth.
        weights = rng.dirichlet(np.full(1 << nbits, 0.5))
        symbols = rng.choice(1 << nbits, size=n, p=weights).astype(np.uint8)
        alpha = Fraction(1, config.alpha_inv)
        exact = _ctw_brute_force([int(s) for s in symbols], nbits, depth, alpha)
        model = CTWModel(config, nbits)
        got = model.code_lengths(symbols).sum()
        assert got == pytest.approx(-math.log2(exact), rel=1e-6), (trial, symbols)
        tab = model.state.table
        beta = tab["beta"][(tab["chk"] != 0) & (tab["n0"].astype(int) + tab["n1"] >= 2)]
        assert np.all(np.abs(np.log2(beta)) < 60)  # the clamp never acted


# ---- the codec -------------------------------------------------------------------------------


def test_text_round_trips_byte_exact():
    data = _text(20000)
    (back,), (payload,) = _round_trip(CTWConfig(table_bits=18), [data], _alphabet(data))
    assert back == data
    assert len(payload) < len(data) / 3  # it really compresses


def test_binary_data_round_trips_byte_exact():
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()
    ramp = np.arange(4000, dtype=np.uint32).astype("<u4").tobytes()
    data = noise + ramp + bytes(1000) + noise[:500]
    (back,), _ = _round_trip(CTWConfig(depth=3, table_bits=16), [data])
    assert back == data


def test_all_256_byte_values_round_trip():
    rng = np.random.default_rng(4)
    data = (
        bytes(range(256)) + bytes(rng.permutation(256).astype(np.uint8)) + bytes(range(255, -1, -1))
    )
    (back,), _ = _round_trip(CTWConfig(depth=2, table_bits=14), [data])
    assert back == data


def test_empty_input_round_trips():
    (back,), (payload,) = _round_trip(CTWConfig(table_bits=8), [b""])
    assert back == b"" and payload == b""


def test_state_carries_over_across_blocks():
    data = _text(12000, seed=5)
    blocks = [data[:5000], b"", data[5000:5001], data[5001:]]
    back, payloads = _round_trip(CTWConfig(depth=4, table_bits=16), blocks, _alphabet(data))
    assert back == blocks
    # A block coded after the others costs less than the same block coded alone.
    alone = make_codec(CTWConfig(depth=4, table_bits=16), _alphabet(data)).encode_block(blocks[3])
    assert len(payloads[3]) < len(alone)


def test_full_hash_table_still_round_trips():
    config = CTWConfig(depth=8, table_bits=5)
    data = _text(6000, seed=6) + bytes(np.random.default_rng(6).integers(0, 256, 3000, np.uint8))
    blocks = [data[i : i + 2500] for i in range(0, len(data), 2500)]
    enc = make_codec(config, ALL_BYTES)
    payloads = [enc.encode_block(b) for b in blocks]
    assert enc.model.state.meta[1] == 1 << config.table_bits  # saturated, did not grow
    dec = make_codec(config, ALL_BYTES)
    assert [dec.decode_block(p, len(b)) for p, b in zip(payloads, blocks, strict=True)] == blocks


def test_long_input_with_small_history_ring_round_trips():
    # More than the 4 KiB ring: old singletons can no longer be unrolled.
    data = _text(30000, seed=7)
    (back,), _ = _round_trip(CTWConfig(depth=6, table_bits=10), [data], _alphabet(data))
    assert back == data


def test_single_value_alphabet_codes_no_decision():
    data = b"z" * 5000
    (back,), (payload,) = _round_trip(CTWConfig(table_bits=10), [data], _alphabet(data))
    assert back == data and len(payload) <= 8  # only the coder's flush


def test_make_codec_serves_ctw_config():
    data = b"abracadabra " * 40
    codec = make_codec(CTWConfig(table_bits=12), _alphabet(data))
    payload = codec.encode_block(data)
    assert (
        make_codec(CTWConfig(table_bits=12), _alphabet(data)).decode_block(payload, len(data))
        == data
    )


def test_corrupt_payload_decodes_to_n_bytes_without_crash():
    data = _text(3000, seed=8)
    payload = make_codec(CTWConfig(table_bits=14), ALL_BYTES).encode_block(data)
    rng = np.random.default_rng(8)
    for bad in (payload[: len(payload) // 2], b"", bytes(rng.integers(0, 256, 200, np.uint8))):
        out = make_codec(CTWConfig(table_bits=14), ALL_BYTES).decode_block(bad, len(data))
        assert len(out) == len(data)


def test_byte_outside_alphabet_is_refused():
    alphabet = _alphabet(b"abc")
    with pytest.raises(ValueError):
        make_codec(CTWConfig(table_bits=8), alphabet).encode_block(b"abd")


def test_decisions_fixed_by_the_alphabet_are_not_coded():
    # A byte tree with m symbols present branches at exactly m - 1 decisions.
    rng = np.random.default_rng(2)
    for m in (1, 2, 3, 17, 128, 256):
        present = np.zeros(256, dtype=bool)
        present[rng.choice(256, m, replace=False)] = True
        assert (forced_bits(present)[1:] == -1).sum() == m - 1
    assert forced_bits(np.arange(256) < 128)[1] == 0  # ASCII: the top bit is never coded


def test_code_lengths_match_the_compressed_size():
    data = _text(8000, seed=9)
    config = CTWConfig(table_bits=16)
    ideal = code_lengths(data, config).sum()
    payload = make_codec(config, _alphabet(data)).encode_block(data)
    # Quantising to 2**12 and the range coder's truncation cost well under 0.5 %.
    assert ideal / 8 <= len(payload) + 1 <= ideal / 8 * 1.005 + 16


def test_both_bit_frequencies_stay_codable():
    probs = [0.0, 1e-300, 1e-9, 1e-4, 0.25, 0.5, 0.75, 1 - 1e-9, 1.0, 2.0, -1.0, math.nan, math.inf]
    for p in probs:
        f1 = bit_freq(p, FREQ_TOTAL)
        assert 1 <= f1 <= FREQ_TOTAL - 1
    freqs = [bit_freq(p, FREQ_TOTAL) for p in np.linspace(0.0, 1.0, 1001)]
    assert freqs == sorted(freqs)
