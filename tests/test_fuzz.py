"""Damaged .nbt files: every mutation or truncation decodes to the original or raises FormatError.

Never another exception, never a hang: lengths are bounded by the format and
every block is checked against its CRC. Small multi-block streams of the real
codecs, a fixed seed, a few hundred cases per model.
"""

import io

import numpy as np
import pytest

import nbtzip
from nbtzip import container
from nbtzip.alphabet import alphabet_of
from nbtzip.container import FormatError
from nbtzip.sample import english_like

CASES_PER_MODEL = 400

MODELS = {
    "rnn": nbtzip.make_config(hidden_size=6),
    "ctw": nbtzip.CTWConfig(depth=3, table_bits=12),
}


def _stream(config):
    """Three short blocks, so block headers and model state across blocks are exercised."""
    data = english_like(450, seed=21) + bytes([0, 255, 128])
    out = io.BytesIO()
    encoder = container.StreamEncoder(out, config, alphabet_of(data))
    for start in range(0, len(data), 151):
        encoder.write_block(data[start : start + 151])
    encoder.finish()
    return data, out.getvalue()


def _mutants(blob, rng):
    for _ in range(CASES_PER_MODEL):
        b = bytearray(blob)
        kind = rng.integers(7)
        at = int(rng.integers(len(b)))
        if kind == 0:
            b[at] ^= 1 << int(rng.integers(8))
        elif kind == 1:
            b[at] = int(rng.integers(256))
        elif kind == 2:
            del b[at:]
        elif kind == 3:
            b.insert(at, int(rng.integers(256)))
        elif kind == 4:
            del b[at]
        elif kind == 5:
            length = int(rng.integers(1, 9))
            b[at:at] = b[at : at + length]
        else:
            for _ in range(int(rng.integers(2, 6))):
                b[int(rng.integers(len(b)))] = int(rng.integers(256))
        yield bytes(b)


@pytest.mark.parametrize("model", MODELS)
def test_damaged_streams_decode_to_the_original_or_raise_format_error(model):
    data, blob = _stream(MODELS[model])
    assert nbtzip.decompress(blob) == data
    rng = np.random.default_rng(2024)
    refused = 0
    for mutant in _mutants(blob, rng):
        try:
            assert nbtzip.decompress(mutant) == data
        except FormatError:
            refused += 1
        try:
            container.scan(io.BytesIO(mutant))
        except FormatError:
            pass
    assert refused > CASES_PER_MODEL // 2  # the mutations do reach the checks
