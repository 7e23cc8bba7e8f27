"""What format version 3 changes: longer blocks, the shortest flush, the span alphabet.

Each part is checked against an independent reading of docs/FORMAT.md, and
against what versions 1 and 2 must keep writing bit for bit.
"""

import io

import numpy as np
import pytest

from nbtzip import container, framing
from nbtzip.coding import rangecoder as rc
from nbtzip.config import CTWConfig
from nbtzip.framing import FormatError


def _span_form(present):
    values = np.flatnonzero(present)
    return 3 + (int(values[-1]) - int(values[0])) // 8 + 1


def test_the_alphabet_round_trips_in_its_shortest_form():
    rng = np.random.default_rng(7)
    cases = [np.zeros(256, bool), np.ones(256, bool)]
    for _ in range(300):
        flags = np.zeros(256, bool)
        lo = int(rng.integers(0, 256))
        hi = int(rng.integers(lo, 256))
        flags[lo : hi + 1] = rng.random(hi - lo + 1) < rng.random()
        cases.append(flags)
    for flags in cases:
        raw = framing.pack_alphabet(flags, 3)
        got, consumed = framing.read_alphabet(io.BytesIO(raw + b"tail"), 3)
        assert (got == flags).all() and consumed == raw
        count = int(flags.sum())
        candidates = [33] + ([2 + count] if count <= 31 else [])
        candidates += [_span_form(flags)] if count else []
        assert len(raw) == (1 if flags.all() else min(candidates))


def test_version_2_never_writes_a_span_and_keeps_its_choice():
    rng = np.random.default_rng(8)
    for _ in range(200):
        flags = rng.random(256) < rng.random()
        raw = framing.pack_alphabet(flags, 2)
        count = int(flags.sum())
        expected = 0 if flags.all() else (2 if count <= 31 else 1)
        assert raw[0] == expected
        assert (framing.read_alphabet(io.BytesIO(raw), 2)[0] == flags).all()


def test_english_text_takes_the_span():
    flags = np.zeros(256, bool)
    flags[list(b"\nabcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ.,;:'!?-()\"")] = True
    raw = framing.pack_alphabet(flags, 3)
    assert raw[0] == framing.SPAN and len(raw) == 3 + (ord("z") - 10) // 8 + 1 < 33


@pytest.mark.parametrize(
    "raw",
    [
        bytes([3, 20, 10, 0xFF]),  # lowest above highest
        bytes([3, 10, 17, 0x7F]),  # the highest value not present
        bytes([3, 10, 17, 0xFE]),  # the lowest value not present
        bytes([3, 10, 12, 0x0D]),  # a bit past the highest
        bytes([3, 10, 30, 0xFF]),  # truncated bitmap
    ],
)
def test_a_span_that_is_not_canonical_is_refused(raw):
    with pytest.raises(FormatError):
        framing.read_alphabet(io.BytesIO(raw), 3)


def test_version_2_refuses_the_span_form():
    with pytest.raises(FormatError, match="bad alphabet"):
        framing.read_alphabet(io.BytesIO(bytes([3, 10, 10, 1])), 2)


def _code(bits, probs, short):
    out = np.zeros(8 * len(bits) + 16, dtype=np.uint8)
    st = rc.encoder_new()
    for bit, p in zip(bits, probs, strict=True):
        rc.encode_bit(st, out, rc.bit_freq(p, 4096), 4096, bit)
    size = rc.encoder_finish_short(st, out) if short else rc.encoder_finish(st, out)
    return out[:size].copy()


def _decode(payload, probs):
    st = rc.decoder_new(payload)
    return [rc.decode_bit(st, payload, rc.bit_freq(p, 4096), 4096) for p in probs]


def test_the_short_flush_decodes_and_is_shorter():
    rng = np.random.default_rng(9)
    saved = []
    for trial in range(400):
        n = int(rng.integers(0, 300))
        probs = rng.random(n) ** rng.uniform(0.2, 5)
        bits = (rng.random(n) < (probs if trial % 2 else 1 - probs)).astype(int).tolist()
        short, full = _code(bits, probs, True), _code(bits, probs, False)
        assert _decode(short, probs) == bits
        assert len(short) == 0 or short[-1] != 0  # zeros at the end are never written
        assert len(short) <= len(full) - 3
        saved.append(len(full) - len(short))
    assert np.mean(saved) >= 3.1  # 3.2 measured: the last byte is zero one time in five


def test_an_empty_payload_is_a_coded_block_that_decodes():
    # Bits that keep low at 0 flush to nothing at all: the decoder reads zeros.
    probs = [0.9] * 40
    bits = [0] * 40
    payload = _code(bits, probs, True)
    assert payload.size == 0 and _decode(payload, probs) == bits


def test_version_3_blocks_hold_256_kib_and_older_versions_64():
    assert framing.BLOCK_SIZES == {1: 1 << 16, 2: 1 << 16, 3: 1 << 18, 4: 1 << 18}
    for version, limit in framing.BLOCK_SIZES.items():
        fine = io.BytesIO(framing.block_bytes(version, limit, 10, False, 0))
        assert framing.read_block(fine, version).length == limit
        over = io.BytesIO(framing.block_bytes(version, limit + 1, 10, False, 0))
        with pytest.raises(FormatError, match="out of range"):
            framing.read_block(over, version)


def test_a_stream_is_cut_into_blocks_of_its_version(order0):
    data = bytes(range(97, 123)) * 12_000  # 312 000 bytes
    for version, blocks in ((2, 5), (3, 2), (4, 2)):
        out = io.BytesIO()
        encoder = container.StreamEncoder(out, CTWConfig(depth=2), np.ones(256, bool), version)
        encoder.write(data)
        encoder.finish()
        decoder = container.StreamDecoder(io.BytesIO(out.getvalue()))
        got = list(decoder)
        assert b"".join(got) == data and len(got) == blocks
        assert decoder.header.version == version
