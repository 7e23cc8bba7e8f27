"""The memory a stream needs is known from its header before anything is allocated,
and a limit (as xz's --memlimit) refuses what is over it, in the API and the command."""

import hashlib
import io
import os
import pickle
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nbtzip
from nbtzip import container, memlimit, models, parallel
from nbtzip.cli import main as cli
from nbtzip.config import ConfigError, CTWConfig, RNNConfig
from nbtzip.container import BLOCK_SIZE, FormatError, MemoryLimitError, stream_memory
from nbtzip.ctw.model import CTWModel
from nbtzip.sample import english_like

# Inside the ranges every version accepted, and about 8.9 GiB to build.
HUGE = RNNConfig(hidden_size=4096, rank=64, fan_in=4096)
SMALL_CTW = CTWConfig(depth=3, table_bits=10)
GiB = 1 << 30
MAKE_CODEC = models.make_codec


def crafted(config, data=b"crafted " * 20):
    """A sound stream whose header asks for config; coded by a tiny model, so that
    making it allocates nothing large (a decoder weighs the header alone)."""
    patched = models.make_codec
    models.make_codec = lambda _, alphabet: MAKE_CODEC(SMALL_CTW, alphabet)
    try:
        return nbtzip.compress(data, config=config, memlimit=0)
    finally:
        models.make_codec = patched


@pytest.fixture
def nothing_built(monkeypatch):
    """Any attempt to build a model fails the test."""

    def refuse(config, alphabet):
        raise AssertionError("a model was built for a stream over the limit")

    monkeypatch.setattr(models, "make_codec", refuse)


# -- the estimate -------------------------------------------------------------------


def _rnn_allocation(config, alphabet_size):
    alphabet = np.zeros(256, dtype=bool)
    alphabet[:alphabet_size] = True
    codec = models.make_codec(config, alphabet)
    return _array_bytes(codec.model.state) + codec._freqs.nbytes


def _array_bytes(state):
    """Bytes of every array in a (nested) namedtuple state."""
    return sum(
        x.nbytes if isinstance(x, np.ndarray) else _array_bytes(x) if isinstance(x, tuple) else 0
        for x in state
    )


@pytest.mark.parametrize("gradient", ["nbt", "rtrl", "none"])
@pytest.mark.parametrize("step", ["kalman", "sgd"])
@pytest.mark.parametrize("rank", [1, 3])
@pytest.mark.parametrize("hidden, fan_in", [(1, 10), (12, 0), (20, 5), (40, 60)])
@pytest.mark.parametrize("alphabet_size", [1, 9, 256])
def test_the_estimate_is_what_a_network_allocates(
    gradient, step, rank, hidden, fan_in, alphabet_size
):
    """Every array of the network and its learner, within 1 % and never below."""
    config = RNNConfig(hidden, gradient, step, rank, fan_in=fan_in)
    actual = _rnn_allocation(config, alphabet_size)
    assert actual <= config.memory_bytes(alphabet_size) <= 1.01 * actual


@pytest.mark.parametrize("table_bits", [4, 12, 16])
@pytest.mark.parametrize("alphabet_size", [2, 256])
def test_the_estimate_is_what_a_ctw_model_allocates(table_bits, alphabet_size):
    config = CTWConfig(depth=3, table_bits=table_bits)
    model = CTWModel(config, 8, np.arange(256) < alphabet_size)
    actual = _array_bytes(model.state) + model.forced.nbytes
    assert actual <= config.memory_bytes(alphabet_size) <= 1.01 * actual


@pytest.mark.parametrize(
    "config", [RNNConfig(hidden_size=8), CTWConfig(depth=4, table_bits=16)], ids=str
)
def test_coding_a_stream_stays_within_its_estimate(config):
    """What Python sees allocated while a stream of every byte value is coded and
    decoded (model, block buffers, payloads) stays under stream_memory."""
    data = np.random.default_rng(1).integers(0, 256, BLOCK_SIZE, np.uint8).tobytes()
    data += english_like(10_000)  # a coded block too, not only a stored one
    nbtzip.decompress(nbtzip.compress(data, config=config))  # kernels compiled outside
    budget = stream_memory(config, 256)
    tracemalloc.start()
    try:
        blob = nbtzip.compress(data, config=config)
        _, peak_encoding = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        assert nbtzip.decompress(blob) == data
        _, peak_decoding = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The input and output as whole bytes objects, and the parts joined into them,
    # are the caller's, not the codec's.
    whole = 2 * (len(data) + len(blob))
    assert peak_encoding - whole <= budget
    assert peak_decoding - whole <= budget


def test_the_crafted_header_of_the_issue_asks_for_gigabytes():
    blob = crafted(HUGE)
    assert len(blob) < 160
    needed = nbtzip.info(io.BytesIO(blob)).memory[0]
    assert needed == HUGE.memory_bytes(len(set(b"crafted "))) + memlimit.BLOCK_MEMORY
    assert needed > 8 * GiB


# -- the limit, through the API ---------------------------------------------------------


@pytest.mark.usefixtures("nothing_built")
def test_a_stream_over_the_limit_is_refused_before_its_model_is_built(tmp_path, monkeypatch):
    blob = crafted(HUGE)
    path = tmp_path / "crafted.nbt"
    path.write_bytes(blob)
    with pytest.raises(MemoryLimitError) as caught:
        nbtzip.decompress(blob, memlimit=8 * GiB)
    assert caught.value.needed > 8 * GiB and caught.value.limit == 8 * GiB
    assert isinstance(caught.value, FormatError)  # what callers of decompress catch already
    assert "MiB of memory" in str(caught.value)
    with pytest.raises(MemoryLimitError):
        nbtzip.decompress_file(path, tmp_path / "out", memlimit=8 * GiB)
    assert not (tmp_path / "out").exists()
    with pytest.raises(MemoryLimitError):
        nbtzip.open(path, memlimit=8 * GiB)
    monkeypatch.setenv(memlimit.ENV, "8GiB")  # the default limit
    for action in (
        lambda: nbtzip.decompress(blob),
        lambda: nbtzip.decompress_file(path, io.BytesIO()),
        lambda: nbtzip.open(path).read(),
        lambda: nbtzip.decompress_file(path, io.BytesIO(), threads=2),
    ):
        with pytest.raises(MemoryLimitError):
            action()


def test_the_limit_is_the_estimate_to_the_byte():
    blob = nbtzip.compress(b"exact " * 50, config=SMALL_CTW)
    needed = nbtzip.info(io.BytesIO(blob)).memory[0]
    assert needed == stream_memory(SMALL_CTW, 4)
    assert nbtzip.decompress(blob, memlimit=needed) == b"exact " * 50
    assert nbtzip.decompress(blob, memlimit=0) == b"exact " * 50
    with pytest.raises(MemoryLimitError):
        nbtzip.decompress(blob, memlimit=needed - 1)
    with pytest.raises(ValueError):
        nbtzip.decompress(blob, memlimit=-1)


def test_a_later_stream_over_the_limit_is_refused_too(monkeypatch):
    blob = nbtzip.compress(b"fine " * 50, config=SMALL_CTW) + crafted(HUGE)
    stream = container.StreamDecoder(io.BytesIO(blob), 8 * GiB)
    blocks = iter(stream)
    assert next(blocks) == b"fine " * 50
    monkeypatch.setattr(models, "make_codec", None)  # nothing more may be built
    with pytest.raises(MemoryLimitError):
        next(blocks)


def test_the_encoder_refuses_what_the_default_decoder_would_refuse(tmp_path, monkeypatch):
    config = CTWConfig(depth=3, table_bits=14)  # 8 MiB and 144 KiB
    monkeypatch.setenv(memlimit.ENV, "8M")
    src = tmp_path / "in"
    src.write_bytes(b"some text " * 30)
    for action in (
        lambda: nbtzip.compress(b"x", config=config),
        lambda: nbtzip.compress_file(src, tmp_path / "in.nbt", config=config),
        lambda: nbtzip.open(tmp_path / "in.nbt", "wb", config=config),
    ):
        with pytest.raises(MemoryLimitError) as caught:
            action()
        assert isinstance(caught.value, ConfigError) and not caught.value.decoding
        assert "the model needs 9MiB" in str(caught.value)
    assert sorted(os.listdir(tmp_path)) == ["in"]
    blob = nbtzip.compress(b"x", config=config, memlimit=16 << 20)
    with pytest.raises(MemoryLimitError):  # and indeed the default decoder refuses it
        nbtzip.decompress(blob)
    assert nbtzip.decompress(blob, memlimit=0) == b"x"


def test_a_refusal_crosses_from_a_worker_process_intact():
    error = pickle.loads(pickle.dumps(MemoryLimitError(5 * GiB, GiB)))
    assert (error.needed, error.limit, error.decoding) == (5 * GiB, GiB, True)
    assert str(error) == str(MemoryLimitError(5 * GiB, GiB))


@pytest.mark.usefixtures("order0")
def test_threads_are_fewer_when_the_limit_holds_fewer_models(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "MIN_SEGMENT", 40_000)
    monkeypatch.setattr(parallel, "available_cores", lambda: 4)
    data = english_like(160_000)
    src, packed = tmp_path / "in", tmp_path / "in.nbt"
    src.write_bytes(data)
    nbtzip.compress_file(src, packed, config=SMALL_CTW, threads=4)
    needed = max(nbtzip.info(packed).memory)
    assert nbtzip.info(packed).streams == 4
    used = []
    real = parallel.decompress_streams

    def spy(fin, fout, spans, decompress, threads, *args):
        used.append(threads)
        return real(fin, fout, spans, decompress, threads, *args)

    monkeypatch.setattr(parallel, "decompress_streams", spy)
    out = io.BytesIO()
    nbtzip.decompress_file(packed, out, threads=4, memlimit=2 * needed + 1)
    assert out.getvalue() == data and used == [2]
    with pytest.raises(MemoryLimitError):
        nbtzip.decompress_file(packed, io.BytesIO(), threads=4, memlimit=needed - 1)


# -- limits as they are written ---------------------------------------------------------


@pytest.mark.parametrize(
    "text, size",
    [
        ("0", 0),
        ("123456", 123456),
        ("500M", 500 << 20),
        ("500MiB", 500 << 20),
        ("500 mb", 500 << 20),
        ("2GiB", 2 * GiB),
        ("1.5G", 3 * GiB // 2),
        ("64k", 64 << 10),
        ("10%", 1600 << 20),
        ("100%", 16000 << 20),
    ],
)
def test_limits_are_written_as_xz_takes_them(text, size):
    assert memlimit.parse(text, physical=16000 << 20) == size


@pytest.mark.parametrize("text", ["", "-1", "5X", "M", "0%", "101%", "1e9", "2 GiBs"])
def test_a_limit_that_is_not_a_size_is_refused(text):
    with pytest.raises(ValueError):
        memlimit.parse(text, physical=GiB)


def test_the_default_limit_is_a_quarter_of_memory_or_the_environment():
    assert memlimit.default_limit({}, physical=16 * GiB) == 4 * GiB
    # every preset still decodes on a small machine
    assert memlimit.default_limit({}, physical=256 << 20) == memlimit.DEFAULT_FLOOR
    assert stream_memory(CTWConfig(), 256) < memlimit.DEFAULT_FLOOR
    assert stream_memory(nbtzip.make_config(9), 256) < memlimit.DEFAULT_FLOOR
    assert memlimit.default_limit({memlimit.ENV: "1G"}, physical=16 * GiB) == GiB
    assert memlimit.default_limit({memlimit.ENV: "50%"}, physical=16 * GiB) == 8 * GiB
    assert memlimit.default_limit({memlimit.ENV: "0"}, physical=16 * GiB) == 0
    with pytest.raises(ValueError, match=memlimit.ENV):
        memlimit.default_limit({memlimit.ENV: "lots"})
    physical = memlimit.physical_memory()
    assert physical is None or physical > 64 << 20


# -- the command -----------------------------------------------------------------------


def run(*args, env=None):
    result = CliRunner().invoke(cli.main, [str(a) for a in args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def snapshot(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in Path(directory).iterdir()}


@pytest.mark.usefixtures("nothing_built")
def test_the_command_refuses_a_stream_over_the_limit_in_one_line(tmp_path):
    path = tmp_path / "crafted.nbt"
    path.write_bytes(crafted(HUGE))
    needed = memlimit.mib(nbtzip.info(path).memory[0])
    before = snapshot(tmp_path)
    for args, env in [
        (["decompress", path], {memlimit.ENV: "8G"}),
        (["decompress", "-M", "8G", path], None),
        (["decompress", "--memlimit=8GiB", "-t", path], None),
        (["decompress", "-c", "--memlimit", "8192M", path], None),
    ]:
        result = run(*args, env=env)
        assert result.exit_code == 1, result.stderr
        assert result.stderr == (
            f"nbtzip: {path}: the stream needs {needed} of memory to decode, above the "
            f"limit of 8192MiB (allow it with --memlimit {needed})\n"
        )
        assert result.stdout == ""
        assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "args, env",
    [
        (["-M", "lots"], None),
        (["--memlimit", "-5"], None),
        ([], {memlimit.ENV: "lots"}),
    ],
)
def test_a_bad_limit_is_a_usage_error(tmp_path, args, env):
    (tmp_path / "a").write_bytes(b"a")
    for command in ("compress", "decompress"):
        result = run(command, *args, tmp_path / "a", env=env)
        assert result.exit_code == 2
        assert len(result.stderr.splitlines()) == 1
        assert (args[-1] if args else "lots") in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["a"]


def test_the_command_will_not_write_what_it_could_not_decode(tmp_path):
    (tmp_path / "a").write_bytes(b"some text " * 20)
    needed = memlimit.mib(stream_memory(CTWConfig(), 256))
    for args, env in [(["-M", "100M"], None), ([], {memlimit.ENV: "100MiB"})]:
        result = run("compress", "--model", "ctw", *args, tmp_path / "a", env=env)
        assert result.exit_code == 2
        assert result.stderr == (
            f"nbtzip: the model needs {needed} of memory to decode, above the limit of "
            f"100MiB (allow it with --memlimit {needed}) (try 'nbtzip compress --help')\n"
        )
        assert sorted(os.listdir(tmp_path)) == ["a"]
    env = {memlimit.ENV: "1M"}  # the option wins
    result = run("compress", "--model", "ctw", "-M", needed, tmp_path / "a", env=env)
    assert result.exit_code == 0, result.stderr
    result = run("decompress", "-c", "-M", needed, tmp_path / "a.nbt", env=env)
    assert result.stdout_bytes == b"some text " * 20


def test_info_shows_the_memory_each_stream_needs(tmp_path):
    one = nbtzip.compress(b"one " * 40, config=SMALL_CTW)
    larger = CTWConfig(depth=3, table_bits=20)
    other = nbtzip.compress(b"other " * 40, config=larger)
    (tmp_path / "a.nbt").write_bytes(one)
    (tmp_path / "b.nbt").write_bytes(one + one)
    (tmp_path / "c.nbt").write_bytes(one + other)
    small, large = (memlimit.mib(stream_memory(c, 256)) for c in (SMALL_CTW, larger))
    shown = run("info", *(tmp_path / n for n in ("a.nbt", "b.nbt", "c.nbt"))).stdout
    rows = [line.split(None, 1)[1] for line in shown.splitlines() if line.startswith("  memory")]
    assert rows == [
        f"{small} to decode",
        f"{small} per stream to decode",
        f"{small} to {large} per stream to decode",
    ]
