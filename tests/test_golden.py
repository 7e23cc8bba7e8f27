"""Files written by a released nbtzip keep decoding (tests/golden/vN/, scripts/make_golden.py)."""

import io
from pathlib import Path

import pytest

import nbtzip
from nbtzip import container

GOLDEN = Path(__file__).resolve().parent / "golden"
PACKED = sorted(GOLDEN.glob("v*/*.nbt"))
IDS = [f"{p.parent.name}/{p.name}" for p in PACKED]


def test_golden_files_of_every_format_version_are_present():
    names = {f"{p.parent.name}/{p.name}" for p in PACKED}
    for version in ("v1", "v2", "v3", "v4"):
        assert {f"{version}/empty.nbt", f"{version}/ctw-default.txt.nbt"} <= names
    assert "v1/rnn-kalman-h12.txt.nbt" in names
    assert {"v2/mix-default.txt.nbt", "v2/mix-empty.nbt"} <= names
    assert {"v3/mix-default.txt.nbt", "v3/ctw-two-blocks.txt.nbt", "v3/mix-span.txt.nbt"} <= names
    assert {"v4/mix-default.txt.nbt", "v4/mix-level1.bin.nbt", "v4/mix-span.txt.nbt"} <= names


@pytest.mark.parametrize("packed", PACKED, ids=IDS)
def test_golden_file_still_decodes_to_its_original(packed):
    original = packed.with_suffix("").read_bytes()
    assert nbtzip.decompress(packed.read_bytes()) == original


@pytest.mark.parametrize("packed", PACKED, ids=IDS)
def test_golden_file_is_still_what_the_encoder_writes(packed):
    # Encoder and decoder share the model code: a different stream today means
    # the files of earlier versions would no longer decode. Old versions are
    # written again in their own framing, so the model's bits are compared.
    original = packed.with_suffix("").read_bytes()
    header = container.read_header(io.BytesIO(packed.read_bytes()))
    assert f"v{header.version}" == packed.parent.name
    out = io.BytesIO()
    encoder = container.StreamEncoder(
        out, header.config, header.alphabet, header.version, size=len(original)
    )  # the size known, as compress and compress_file know it
    encoder.write(original)
    encoder.finish()
    assert out.getvalue() == packed.read_bytes()
