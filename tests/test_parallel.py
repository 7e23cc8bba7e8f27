"""compress_file / decompress_file with threads: independent streams coded by
worker processes, written in order (the container logic runs on the stand-in
Order0Codec, which forked workers inherit)."""

import io
import os

import pytest
from conftest import Pipe

import nbtzip
from nbtzip import api, container, parallel
from nbtzip.config import RNNConfig
from nbtzip.sample import english_like

pytestmark = pytest.mark.usefixtures("order0")

CONFIG = RNNConfig(hidden_size=8, seed=3)
SEGMENT = 40_000


@pytest.fixture
def small_segments(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_SEGMENT", SEGMENT)
    monkeypatch.setattr(parallel, "PIPE_SEGMENT", SEGMENT)
    monkeypatch.setattr(parallel, "available_cores", lambda: 4)  # whatever this machine has


def _files(tmp_path, data):
    src = tmp_path / "in.txt"
    src.write_bytes(data)
    return src, tmp_path / "in.txt.nbt", tmp_path / "out.txt"


def test_threads_code_segments_as_streams_in_order(tmp_path, small_segments):
    data = english_like(150_000)
    src, packed, out = _files(tmp_path, data)
    result = nbtzip.compress_file(src, packed, config=CONFIG, threads=2)
    blob = packed.read_bytes()
    # the segments of an even split, each exactly the stream compress() makes of it
    size = parallel.segment_size(len(data), 2)
    assert size == 75_000
    expected = b"".join(
        nbtzip.compress(data[i : i + size], config=CONFIG) for i in range(0, len(data), size)
    )
    assert blob == expected
    assert (result.input_size, result.output_size) == (len(data), len(blob))
    assert container.scan(io.BytesIO(blob)).streams == 2
    for threads in (1, 2):
        nbtzip.decompress_file(packed, out, threads=threads, overwrite=True)
        assert out.read_bytes() == data


def test_an_input_within_one_segment_codes_as_with_one_thread(tmp_path, small_segments):
    data = english_like(SEGMENT - 1)
    src, packed, _ = _files(tmp_path, data)
    nbtzip.compress_file(src, packed, config=CONFIG, threads=4)
    assert packed.read_bytes() == nbtzip.compress(data, config=CONFIG)


def test_empty_and_piped_inputs(tmp_path, small_segments):
    out = io.BytesIO()
    nbtzip.compress_file(io.BytesIO(b""), out, config=CONFIG, threads=2)
    assert nbtzip.decompress(out.getvalue()) == b""
    data = english_like(3 * SEGMENT + 5)
    # a non-seekable source (size unknown) is cut into PIPE_SEGMENT pieces
    out = io.BytesIO()
    nbtzip.compress_file(Pipe(data), out, config=CONFIG, threads=2)
    assert container.scan(io.BytesIO(out.getvalue())).streams == 4
    assert nbtzip.decompress(out.getvalue()) == data


def test_damage_found_by_a_worker_fails_the_whole_file(tmp_path, small_segments):
    data = english_like(150_000)
    src, packed, out = _files(tmp_path, data)
    nbtzip.compress_file(src, packed, config=CONFIG, threads=2)
    blob = bytearray(packed.read_bytes())
    blob[-200] ^= 0x10  # inside the last stream's last block
    packed.write_bytes(bytes(blob))
    with pytest.raises(nbtzip.FormatError):
        nbtzip.decompress_file(packed, out, threads=2)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("threads", [-1, 1.5, True, "2"])
def test_bad_thread_counts_are_refused(threads):
    with pytest.raises(ValueError, match="threads"):
        parallel.resolve_threads(threads)


def test_threads_are_capped_by_the_cores(monkeypatch):
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    assert [parallel.resolve_threads(n) for n in (0, 1, 2, 5)] == [2, 1, 2, 2]
    monkeypatch.undo()
    assert parallel.resolve_threads(0) == parallel.available_cores() >= 1


def _die(data, **options):
    os._exit(3)


def test_a_worker_that_dies_fails_the_run_instead_of_hanging(tmp_path, small_segments, monkeypatch):
    monkeypatch.setattr(api, "compress", _die)  # forked workers see it
    src, packed, _ = _files(tmp_path, english_like(150_000))
    with pytest.raises(parallel.WorkerError):
        nbtzip.compress_file(src, packed, config=CONFIG, threads=2)
    assert not packed.exists()
