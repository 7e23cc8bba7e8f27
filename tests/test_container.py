"""The .nbt container: layout, bounds and integrity checks (model-independent).

These tests run the stand-in Order0Codec (conftest.py) so that they prove the
container's behaviour and nothing about any real model.
"""

import dataclasses
import io
import struct
import zlib

import numpy as np
import pytest
from conftest import Pipe, raw_block_fields

import nbtzip
from nbtzip import container, framing, models
from nbtzip.alphabet import alphabet_of
from nbtzip.config import ConfigError, CTWConfig, RNNConfig
from nbtzip.container import BLOCK_SIZE, MAGIC, FormatError

pytestmark = pytest.mark.usefixtures("order0")

CONFIG = RNNConfig(hidden_size=8, seed=3)


def _compress(data, config=CONFIG):
    return nbtzip.compress(data, config=config)


def _varint(blob, pos):
    value = shift = 0
    while True:
        byte = blob[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _parse(blob):
    """Walk a version 2 or 3 stream by the layout documented in framing.py, independently of it.

    Returns (version, config bytes, alphabet, blocks as (n, m, crc, offset), length, crc).
    """
    assert blob[:8] == MAGIC
    version = blob[8]
    config_size, pos = _varint(blob, 9)
    config_raw = blob[pos : pos + config_size]
    pos += config_size
    form = blob[pos]
    pos += 1
    if form == 0:
        present = list(range(256))
    elif form == 1:
        present = [b for b in range(256) if blob[pos + (b >> 3)] >> (b & 7) & 1]
        pos += 32
    elif form == 2:
        present = list(blob[pos + 1 : pos + 1 + blob[pos]])
        pos += 1 + blob[pos]
    else:  # 3, version 3's span: lowest, highest, bitmap from the lowest
        lo, hi = blob[pos], blob[pos + 1]
        bits = blob[pos + 2 : pos + 2 + (hi - lo) // 8 + 1]
        present = [lo + i for i in range(hi - lo + 1) if bits[i >> 3] >> (i & 7) & 1]
        pos += 2 + len(bits)
    (header_crc,) = struct.unpack_from("<I", blob, pos)
    assert header_crc == zlib.crc32(blob[:pos])
    pos += 4
    blocks = []
    while True:
        offset = pos
        n, pos = _varint(blob, pos)
        if n == 0:
            break
        m2, pos = _varint(blob, pos)
        (crc,) = struct.unpack_from("<I", blob, pos)
        pos += 4
        blocks.append((n, m2 >> 1, crc, offset))
        pos += m2 >> 1
    length, pos = _varint(blob, pos)
    (crc,) = struct.unpack_from("<I", blob, pos)
    assert pos + 4 == len(blob)
    return version, config_raw, present, blocks, length, crc


def test_stream_follows_the_documented_layout():
    data = bytes(range(0, 256, 3)) * 3000
    version, config_raw, present, blocks, length, crc = _parse(_compress(data))
    assert version == framing.VERSION == 4
    assert nbtzip.config.from_bytes(config_raw) == CONFIG
    assert present == list(range(0, 256, 3))
    assert [n for n, _, _, _ in blocks] == [BLOCK_SIZE] * (len(data) // BLOCK_SIZE) + [
        len(data) % BLOCK_SIZE
    ]
    start = 0
    for n, _, block_crc, _ in blocks:
        assert block_crc == zlib.crc32(data[start : start + n])
        start += n
    assert (length, crc) == (len(data), zlib.crc32(data))


@pytest.mark.parametrize("data", [b"", b"abc", bytes(range(40)), bytes(range(256))])
def test_the_alphabet_takes_its_shortest_form(data):
    present = _parse(_compress(data))[2]
    assert present == (sorted(set(data)) if data else [])


def test_an_empty_input_costs_little():
    assert len(nbtzip.compress(b"", config=CTWConfig())) <= 40
    assert len(nbtzip.compress(b"", config=RNNConfig())) <= 45


def test_alphabet_bitmap_round_trips():
    rng = np.random.default_rng(1)
    for _ in range(20):
        flags = rng.random(256) < rng.random()
        raw = framing.pack_bitmap(flags)
        assert len(raw) == 32
        assert (framing.unpack_bitmap(raw) == flags).all()
        alphabet, _ = framing.read_alphabet(io.BytesIO(framing.pack_alphabet(flags)))
        assert (alphabet == flags).all()


def test_header_round_trips_config_and_alphabet():
    flags = alphabet_of(b"hello world")
    header = container.read_header(io.BytesIO(container.encode_header(CONFIG, flags)))
    assert header.config == CONFIG
    assert (header.alphabet == flags).all()


def test_empty_stream_builds_no_model(monkeypatch):
    def refuse(config, alphabet):
        raise AssertionError("an empty stream needs no codec")

    monkeypatch.setattr(models, "make_codec", refuse)
    blob = _compress(b"")
    assert _parse(blob)[3] == []
    assert nbtzip.decompress(blob) == b""


@pytest.mark.parametrize("size", [1, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, 3 * BLOCK_SIZE])
def test_block_boundaries_round_trip(size):
    data = np.random.default_rng(size).integers(0, 7, size, dtype=np.uint8).tobytes()
    assert nbtzip.decompress(_compress(data)) == data


def test_short_reads_from_a_pipe_are_not_truncation():
    class Trickle(io.RawIOBase):
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def read(self, n=-1):
            return self.inner.read(min(n, 3) if n >= 0 else 3)

    data = b"abracadabra" * 1000
    decoder = container.StreamDecoder(Trickle(_compress(data)))
    assert b"".join(decoder) == data


def test_decoder_hands_out_only_blocks_that_pass_their_crc():
    data = np.random.default_rng(2).integers(0, 4, 2 * BLOCK_SIZE, dtype=np.uint8).tobytes()
    blob = bytearray(_compress(data))
    *_, blocks, _, _ = _parse(bytes(blob))
    second = blocks[1][3]
    blob[second + 20] ^= 0x40  # inside the second block's payload
    decoder = iter(container.StreamDecoder(io.BytesIO(bytes(blob))))
    assert next(decoder) == data[:BLOCK_SIZE]
    with pytest.raises(FormatError, match="checksum"):
        next(decoder)


def test_input_that_is_not_nbt_is_rejected():
    for blob in (b"", b"hello world, not compressed", b"\x1f\x8b\x08\x00" + bytes(20)):
        with pytest.raises(FormatError, match="not an .nbt file"):
            nbtzip.decompress(blob)


def test_unsupported_version_is_rejected():
    blob = bytearray(_compress(b"abc"))
    blob[8] = framing.VERSION + 1
    with pytest.raises(FormatError, match=f"unsupported format version {framing.VERSION + 1}"):
        nbtzip.decompress(bytes(blob))


def test_changed_configuration_fails_the_header_checksum():
    blob = _compress(b"abc")
    raw = nbtzip.config.to_bytes(CONFIG)
    changed = blob.replace(raw, nbtzip.config.to_bytes(dataclasses.replace(CONFIG, seed=7)))
    assert changed != blob
    with pytest.raises(FormatError, match="corrupted header"):
        nbtzip.decompress(changed)


def test_every_truncation_is_rejected():
    data = b"some text to compress, " * 40
    blob = _compress(data)
    for cut in range(len(blob)):
        with pytest.raises(FormatError):
            nbtzip.decompress(blob[:cut])


def test_trailing_data_is_rejected():
    blob = _compress(b"abc")
    for tail in (b"\0", MAGIC[:5], b"x" * 40, _compress(b"def") + b"\0"):
        with pytest.raises(FormatError, match="trailing data"):
            nbtzip.decompress(blob + tail)


def test_concatenated_streams_decode_to_the_concatenation():
    """cat a.nbt b.nbt decodes to a + b, as gzip members do: each stream keeps its
    own model, alphabet and trailer, and an empty stream may sit in between."""
    parts = [
        (b"first stream " * 3000, CONFIG),  # several blocks
        (b"", CONFIG),
        (bytes(range(256)), dataclasses.replace(CONFIG, seed=9)),
        (b"zzzz", CTWConfig(depth=2)),
    ]
    blob = b"".join(_compress(data, config) for data, config in parts)
    expected = b"".join(data for data, _ in parts)
    assert nbtzip.decompress(blob) == expected
    with nbtzip.open(io.BytesIO(blob)) as f:
        assert f.read(7) + f.read() == expected
    facts = container.scan(io.BytesIO(blob))
    assert facts.streams == 4
    assert facts.original_size == len(expected)
    assert facts.compressed_size == len(blob)
    assert facts.crc32 == zlib.crc32(expected)
    assert facts.config == CONFIG


def test_damage_in_a_later_stream_is_caught():
    first, second = _compress(b"one" * 100), _compress(b"two" * 100)
    for cut in range(1, len(second)):
        with pytest.raises(FormatError):
            nbtzip.decompress(first + second[:cut])
        with pytest.raises(FormatError):
            container.scan(io.BytesIO(first + second[:cut]))
    damaged = bytearray(second)
    damaged[_parse(second)[3][0][3] + 12] ^= 0x40  # the second stream's payload
    with pytest.raises(FormatError):
        nbtzip.decompress(first + bytes(damaged))


def test_append_mode_adds_a_stream(tmp_path):
    path = tmp_path / "log.nbt"
    with nbtzip.open(path, "wb", config=CONFIG) as f:
        f.write(b"monday\n")
    with nbtzip.open(path, "ab", config=CONFIG) as f:
        f.write(b"tuesday\n")
    with nbtzip.open(path, "at", config=CONFIG) as f:
        f.write("wednesday\n")
    assert nbtzip.decompress(path.read_bytes()) == b"monday\ntuesday\nwednesday\n"
    assert container.scan(io.BytesIO(path.read_bytes())).streams == 3


@pytest.mark.parametrize(
    "n, m", [(BLOCK_SIZE + 1, 10), (2**60, 10), (3, framing.max_payload(3) + 1)]
)
def test_lengths_beyond_the_format_bounds_are_rejected_before_reading(monkeypatch, n, m):
    def refuse(config, alphabet):
        raise AssertionError("no model may be built for an out-of-range block")

    blob = _compress(b"abc")
    offset = _parse(blob)[3][0][3]
    monkeypatch.setattr(models, "make_codec", refuse)
    bad = blob[:offset] + framing.block_bytes(2, n, m, False, 0) + b"\0" * 64
    with pytest.raises(FormatError, match="out of range"):
        nbtzip.decompress(bad)


def test_an_overlong_number_is_rejected():
    blob = _compress(b"abc")
    offset = _parse(blob)[3][0][3]
    with pytest.raises(FormatError, match="bad number"):
        nbtzip.decompress(blob[:offset] + b"\x83\x80\x00" + blob[offset + 1 :])


def test_trailer_length_and_checksum_are_checked():
    blob = _compress(b"abcabc")
    assert blob[-5] == 6  # the trailer's length
    bad_length = blob[:-5] + bytes([7]) + blob[-4:]
    with pytest.raises(FormatError, match="length mismatch"):
        nbtzip.decompress(bad_length)
    bad_crc = blob[:-4] + struct.pack("<I", zlib.crc32(b"abcabd"))
    with pytest.raises(FormatError, match="checksum mismatch"):
        nbtzip.decompress(bad_crc)


def test_data_with_an_empty_alphabet_is_rejected():
    header = container.encode_header(CONFIG, np.zeros(256, dtype=bool))
    blob = header + framing.block_bytes(2, 1, 0, False, zlib.crc32(b"a"))
    blob += framing.end_bytes(2, 1, 0)
    with pytest.raises(FormatError, match="empty alphabet"):
        nbtzip.decompress(blob)


def test_rtrl_beyond_its_size_limit_is_refused_by_both_sides():
    big = RNNConfig(hidden_size=nbtzip.config.RTRL_MAX_HIDDEN + 1, gradient="rtrl")
    with pytest.raises(ConfigError, match="rtrl"):
        _compress(b"abc", config=big)
    raw = nbtzip.config.to_bytes(big)
    blob = framing.header_bytes(2, raw, [True] * 256) + framing.end_bytes(2, 0, 0)
    with pytest.raises(FormatError, match="rtrl"):
        nbtzip.decompress(blob)


def test_encoder_refuses_bytes_outside_its_alphabet():
    encoder = container.StreamEncoder(io.BytesIO(), CONFIG, alphabet_of(b"ab"))
    encoder.write_block(b"abba")
    with pytest.raises(ValueError, match="alphabet"):
        encoder.write_block(b"abc")


def test_scan_reports_sizes_without_decoding(monkeypatch):
    data = b"0123456789" * (BLOCK_SIZE // 3)  # four blocks
    blob = _compress(data)

    def refuse(config, alphabet):
        raise AssertionError("scan must not decode")

    monkeypatch.setattr(models, "make_codec", refuse)

    class Pipe(io.BytesIO):
        def seekable(self):
            return False

    for fp in (io.BytesIO(blob), Pipe(blob)):
        facts = container.scan(fp)
        assert facts.config == CONFIG
        assert facts.alphabet_size == 10
        assert facts.blocks == 4
        assert facts.original_size == len(data)
        assert facts.compressed_size == len(blob)
        assert facts.crc32 == zlib.crc32(data)
        assert facts.bits_per_byte == pytest.approx(8 * len(blob) / len(data))


def test_scan_rejects_a_truncated_stream():
    blob = _compress(b"0123456789" * 100)
    for cut in (len(blob) - 1, len(blob) - 13, 60):
        with pytest.raises(FormatError):
            container.scan(io.BytesIO(blob[:cut]))


def test_config_header_bytes_round_trip_and_reject_damage():
    from nbtzip.config import ConfigError, RNNConfig, from_bytes, to_bytes

    for config in (
        RNNConfig(),
        RNNConfig(hidden_size=300, gradient="rtrl", step="sgd", seed=2**62, fisher="op"),
        CTWConfig(),
        CTWConfig(depth=3, alpha_inv=2),
    ):
        raw = to_bytes(config)
        assert from_bytes(raw) == config
        assert len(raw) < 80
        for bad in (raw[:-1], raw + b"\0", b"\x07" + raw[1:]):
            with pytest.raises(ConfigError):
                from_bytes(bad)


def test_stored_block_with_a_wrong_length_is_rejected():
    # 1 byte in version 2 (its flush is 5 bytes): always stored
    out = io.BytesIO()
    encoder = container.StreamEncoder(out, CONFIG, alphabet_of(b"\xff"), version=2)
    encoder.write(b"\xff")
    encoder.finish()
    blob = bytearray(out.getvalue())
    n, stored, _, offset = raw_block_fields(bytes(blob))[0]
    assert stored and n == 1
    # the payload field 2m + 1 of a one-byte stored block is the one byte 3; claim m = 2
    assert blob[offset + 1] == 3
    blob[offset + 1] = 5
    with pytest.raises(FormatError):
        nbtzip.decompress(bytes(blob))


def test_a_reader_seeks_like_lzma_files_do():
    data = bytes(range(256)) * (2 * BLOCK_SIZE // 256 + 300)  # three blocks
    second = b"and a second stream"
    blob = _compress(data) + _compress(second)
    whole = data + second
    f = nbtzip.open(io.BytesIO(blob))
    assert f.seekable()
    assert f.seek(BLOCK_SIZE + 5) == BLOCK_SIZE + 5 and f.read(3) == whole[BLOCK_SIZE + 5 :][:3]
    assert f.seek(10) == 10 and f.read(4) == whole[10:14]  # backward: decodes again
    assert f.seek(-2, io.SEEK_CUR) == 12 and f.tell() == 12 and f.read(2) == whole[12:14]
    assert f.seek(-4, io.SEEK_END) == len(whole) - 4 and f.read() == whole[-4:]
    assert f.seek(len(whole) + 99) == len(whole) and f.read() == b""  # past the end: EOF
    assert f.seek(-5) == 0 and f.read(5) == whole[:5]
    with pytest.raises(ValueError):
        f.seek(0, 7)


def test_a_reader_over_a_pipe_cannot_seek():
    f = nbtzip.open(Pipe(_compress(b"abc")))
    assert not f.seekable()
    with pytest.raises(io.UnsupportedOperation):
        f.seek(1)
    assert f.read() == b"abc"
    w = nbtzip.open(io.BytesIO(), "wb", config=CONFIG)
    assert not w.seekable()
    with pytest.raises(io.UnsupportedOperation):
        w.seek(0)
