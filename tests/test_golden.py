"""Files written by a released nbtzip keep decoding (tests/golden/, scripts/make_golden.py)."""

from pathlib import Path

import pytest

import nbtzip

GOLDEN = Path(__file__).resolve().parent / "golden"
PACKED = sorted(GOLDEN.glob("*.nbt"))


def test_golden_files_are_present():
    names = {p.name for p in PACKED}
    assert {"empty.nbt", "ctw-default.txt.nbt", "rnn-kalman-h12.txt.nbt"} <= names


@pytest.mark.parametrize("packed", PACKED, ids=[p.name for p in PACKED])
def test_golden_file_still_decodes_to_its_original(packed):
    original = packed.with_suffix("").read_bytes()
    assert nbtzip.decompress(packed.read_bytes()) == original


@pytest.mark.parametrize("packed", PACKED, ids=[p.name for p in PACKED])
def test_golden_file_is_still_what_the_encoder_writes(packed):
    # Encoder and decoder share the model code: a different stream today means
    # the files of earlier versions would no longer decode.
    original = packed.with_suffix("").read_bytes()
    config = nbtzip.info(packed).config
    assert nbtzip.compress(original, config=config) == packed.read_bytes()
