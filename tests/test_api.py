"""The Python API through the real codecs: round trips, determinism, streaming, options."""

import hashlib
import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import raw_block_fields

import nbtzip
from nbtzip import api, kernelcache, models
from nbtzip.alphabet import alphabet_of
from nbtzip.config import ConfigError, CTWConfig, RNNConfig
from nbtzip.container import BLOCK_SIZE, FormatError
from nbtzip.sample import english_like

ROOT = Path(__file__).resolve().parent.parent

# Small models: the properties below do not depend on model size.
MODELS = {
    "rnn": lambda: nbtzip.make_config(model="rnn", hidden_size=8),
    "ctw": lambda: CTWConfig(depth=4, table_bits=16),
    "mix": lambda: nbtzip.make_config(2),
}


def _random(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


CASES = {
    "empty": b"",
    "one_byte": b"x",
    "all_byte_values": bytes(range(256)),
    "all_byte_values_shuffled_twice": bytes(np.random.default_rng(5).permutation(512) % 256),
    "long_run_of_one_byte": b"a" * 100_000,
    "english_like_text": english_like(30_000),
    "random_bytes": _random(20_000),
    "crosses_block_boundaries": english_like(BLOCK_SIZE + 100, seed=3),
}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("case", CASES)
def test_round_trip_is_byte_exact(model, case):
    data = CASES[case]
    blob = nbtzip.compress(data, config=MODELS[model]())
    assert nbtzip.decompress(blob) == data


def test_random_megabyte_grows_by_less_than_one_percent_plus_header():
    data = _random(1 << 20, seed=1)
    config = CTWConfig(depth=2, table_bits=16)
    blob = nbtzip.compress(data, config=config)
    header = len(nbtzip.compress(b"", config=config))
    assert len(blob) <= len(data) * 1.01 + header
    assert nbtzip.decompress(blob) == data


def test_learning_models_compress_text():
    data = english_like(30_000)
    for make in MODELS.values():
        assert len(nbtzip.compress(data, config=make())) < len(data) * 0.6


def test_long_run_of_one_byte_costs_almost_nothing():
    for make in MODELS.values():
        blob = nbtzip.compress(b"z" * 200_000, config=make())
        assert len(blob) < len(nbtzip.compress(b"", config=make())) + 100


_FINGERPRINT = """
import hashlib
import nbtzip
from nbtzip.sample import english_like
data = english_like(6000, seed=11)
for config in (nbtzip.make_config(model="rnn", hidden_size=12, seed=5),
               nbtzip.make_config(model="rnn", hidden_size=6, algorithm="nbt", rank=2),
               nbtzip.CTWConfig(depth=5, table_bits=14)):
    print(hashlib.sha256(nbtzip.compress(data, config=config)).hexdigest())
"""


def _fingerprints(extra_env):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra_env}
    done = subprocess.run(
        [sys.executable, "-c", _FINGERPRINT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()


def test_same_input_gives_identical_bytes_across_processes_and_cpu_targets():
    data = english_like(6000, seed=11)
    here = [
        hashlib.sha256(nbtzip.compress(data, config=config)).hexdigest()
        for config in (
            nbtzip.make_config(model="rnn", hidden_size=12, seed=5),
            nbtzip.make_config(model="rnn", hidden_size=6, algorithm="nbt", rank=2),
            CTWConfig(depth=5, table_bits=14),
        )
    ]
    assert _fingerprints({}) == here
    assert _fingerprints({"NUMBA_CPU_NAME": "generic"}) == here


def test_level_and_options_choose_the_configuration():
    assert nbtzip.make_config() == nbtzip.config.mix_preset(nbtzip.DEFAULT_LEVEL)
    assert nbtzip.make_config(model="rnn") == nbtzip.config.preset(nbtzip.DEFAULT_LEVEL)
    assert nbtzip.make_config(1, model="rnn").hidden_size == nbtzip.config.LEVELS[1].hidden_size
    config = nbtzip.make_config(3, model="rnn", hidden_size=16, seed=9, algorithm="nbt")
    assert (config.hidden_size, config.seed, config.gradient, config.step) == (16, 9, "nbt", "sgd")
    assert nbtzip.make_config(model="rnn", algorithm="kalman").step == "kalman"
    rtrl = nbtzip.make_config(model="rnn", hidden_size=8, algorithm="rtrl")
    assert (rtrl.gradient, rtrl.step) == ("rtrl", "kalman")
    assert nbtzip.make_config(model="ctw", depth=3) == CTWConfig(depth=3)
    given = RNNConfig(hidden_size=5)
    assert nbtzip.make_config(9, config=given) is given
    assert nbtzip.make_config(config=given, seed=4) == RNNConfig(hidden_size=5, seed=4)


def test_the_stream_carries_its_configuration():
    config = nbtzip.make_config(model="rnn", hidden_size=10, seed=77, algorithm="nbt")
    blob = nbtzip.compress(b"hello, hello, hello", config=config)
    assert nbtzip.info(io.BytesIO(blob)).config == config
    blob = nbtzip.compress(b"hello", 2, seed=3)
    sized = nbtzip.config.mix_preset(2, seed=3).sized(5, 4)  # tables sized to the input
    assert nbtzip.info(io.BytesIO(blob)).config == sized


def test_bad_options_are_refused_before_any_work():
    with pytest.raises(ConfigError, match="rtrl"):
        nbtzip.compress(b"x", model="rnn", algorithm="rtrl")  # level 6: above the RTRL limit
    with pytest.raises(ConfigError, match="algorithm"):
        nbtzip.compress(b"x", algorithm="adam")
    with pytest.raises(ConfigError, match="level"):
        nbtzip.compress(b"x", 10)
    with pytest.raises(ConfigError):
        nbtzip.compress(b"x", model="rnn", hidden_size=0)
    with pytest.raises(TypeError):
        nbtzip.compress(b"x", config="rnn")


@pytest.mark.parametrize("value", [None, "text", 3, [1, 2]])
def test_data_that_is_not_bytes_like_is_a_type_error(value):
    for function in (nbtzip.compress, nbtzip.decompress):
        with pytest.raises(
            TypeError, match=f"^a bytes-like object is required, not '{type(value).__name__}'$"
        ):
            function(value)


def test_open_streams_writes_and_reads_across_blocks(tmp_path):
    config = MODELS["ctw"]()
    chunks = [english_like(n, seed=n) for n in (10, BLOCK_SIZE - 3, 1, 2 * BLOCK_SIZE + 7, 0)]
    path = tmp_path / "stream.nbt"
    with nbtzip.open(path, "wb", config=config) as f:
        for chunk in chunks:
            assert f.write(chunk) == len(chunk)
    data = b"".join(chunks)
    facts = nbtzip.info(path)
    assert facts.alphabet_size == 256  # a writer cannot know its bytes in advance
    assert facts.original_size == len(data)
    assert nbtzip.decompress(path.read_bytes()) == data
    with nbtzip.open(path) as f:
        assert f.read(5) == data[:5]
        assert f.read1(BLOCK_SIZE) == data[5:BLOCK_SIZE]
        buf = bytearray(100)
        assert f.readinto(buf) == 100 and bytes(buf) == data[BLOCK_SIZE : BLOCK_SIZE + 100]
        assert f.read() == data[BLOCK_SIZE + 100 :]
        assert f.read() == b""
        assert f.tell() == len(data)


def test_open_text_mode_and_file_objects():
    buffer = io.BytesIO()
    with nbtzip.open(buffer, "wt", hidden_size=8, encoding="utf-8") as f:
        f.write("première ligne\nsecond line\n")
    assert not buffer.closed  # a caller's file object stays open
    with nbtzip.open(io.BytesIO(buffer.getvalue()), "rt", encoding="utf-8") as f:
        assert f.readlines() == ["première ligne\n", "second line\n"]


def test_open_reader_raises_format_error_on_damage():
    blob = bytearray(nbtzip.compress(english_like(3000), config=MODELS["rnn"]()))
    blob[-30] ^= 1
    with nbtzip.open(io.BytesIO(bytes(blob))) as f, pytest.raises(FormatError):
        f.read()
    with pytest.raises(FormatError, match="not an .nbt file"):
        nbtzip.open(io.BytesIO(b"plain text"))


def test_compress_file_scans_a_regular_file_and_streams_a_pipe(tmp_path):
    data = english_like(3 * BLOCK_SIZE + 11, seed=4)
    src = tmp_path / "in.txt"
    src.write_bytes(data)
    config = MODELS["ctw"]()
    seen = []
    result = nbtzip.compress_file(
        src, tmp_path / "in.txt.nbt", config=config, progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (len(data), len(data))
    assert (result.input_size, result.output_size) == (
        len(data),
        (tmp_path / "in.txt.nbt").stat().st_size,
    )
    assert nbtzip.info(tmp_path / "in.txt.nbt").alphabet_size == len(set(data))

    class Pipe(io.BytesIO):
        def seekable(self):
            return False

    piped = io.BytesIO()  # a pipe that ends within the look-ahead is coded like the file
    nbtzip.compress_file(Pipe(data), piped, config=config)
    assert piped.getvalue() == (tmp_path / "in.txt.nbt").read_bytes()
    longer = io.BytesIO()  # a longer one: every byte value, tables at their caps
    api.PIPE_LOOKAHEAD, saved = 1000, api.PIPE_LOOKAHEAD
    try:
        nbtzip.compress_file(Pipe(data), longer, config=config)
    finally:
        api.PIPE_LOOKAHEAD = saved
    assert nbtzip.info(io.BytesIO(longer.getvalue())).alphabet_size == 256
    assert nbtzip.decompress(longer.getvalue()) == data

    out = tmp_path / "out.txt"
    result = nbtzip.decompress_file(tmp_path / "in.txt.nbt", out)
    assert out.read_bytes() == data and result.output_size == len(data)
    assert nbtzip.decompress(piped.getvalue()) == data


def test_file_functions_refuse_to_overwrite_unless_asked(tmp_path):
    src = tmp_path / "a"
    src.write_bytes(b"abc")
    dst = tmp_path / "a.nbt"
    dst.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        nbtzip.compress_file(src, dst, config=MODELS["ctw"]())
    assert dst.read_bytes() == b"precious"
    nbtzip.compress_file(src, dst, config=MODELS["ctw"](), overwrite=True)
    assert nbtzip.decompress(dst.read_bytes()) == b"abc"


def test_a_failure_mid_stream_leaves_no_output(tmp_path, monkeypatch):
    src = tmp_path / "big"
    src.write_bytes(english_like(3 * BLOCK_SIZE))
    real = models.make_codec

    class Failing:
        def __init__(self, config, alphabet):
            self.inner = real(config, alphabet)
            self.blocks = 0

        def encode_block(self, data, *args, **options):
            self.blocks += 1
            if self.blocks == 2:
                raise KeyboardInterrupt
            return self.inner.encode_block(data, *args, **options)

    monkeypatch.setattr(models, "make_codec", Failing)
    with pytest.raises(KeyboardInterrupt):
        nbtzip.compress_file(src, tmp_path / "big.nbt", config=MODELS["ctw"]())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big"]


def test_damaged_input_to_decompress_file_leaves_no_output(tmp_path):
    blob = bytearray(nbtzip.compress(english_like(2 * BLOCK_SIZE), config=MODELS["ctw"]()))
    blob[-20] ^= 0x10
    (tmp_path / "x.nbt").write_bytes(bytes(blob))
    with pytest.raises(FormatError):
        nbtzip.decompress_file(tmp_path / "x.nbt", tmp_path / "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.nbt"]


def test_numba_cache_is_keyed_by_the_package_sources(tmp_path):
    """A change in any module must not reuse kernels compiled from the old code."""
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    chosen = kernelcache.configure(env)
    digest = kernelcache.source_digest()
    assert chosen == str(tmp_path / "nbtzip" / "numba" / digest)
    assert env["NUMBA_CACHE_DIR"] == chosen
    mine = {"NUMBA_CACHE_DIR": "/somewhere/else"}
    assert kernelcache.configure(mine) == "/somewhere/else"

    copy = tmp_path / "pkg"
    shutil.copytree(kernelcache.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert kernelcache.source_digest(copy) == digest
    with open(copy / "rnn" / "learners" / "nbt.py", "a") as fp:
        fp.write("\n# changed\n")
    assert kernelcache.source_digest(copy) != digest
    # The command line is above every kernel: changing it keeps the cache.
    changed = kernelcache.source_digest(copy)
    with open(copy / "cli" / "main.py", "a") as fp:
        fp.write("\n# changed\n")
    assert kernelcache.source_digest(copy) == changed


def test_caches_of_other_sources_are_pruned_once_stale(tmp_path):
    base = tmp_path / "nbtzip" / "numba"
    stale, recent = base / ("0" * 16), base / ("1" * 16)
    stale.mkdir(parents=True)
    recent.mkdir()
    old = time.time() - kernelcache.STALE_SECONDS - 60
    os.utime(stale, (old, old))
    kernelcache.configure({"XDG_CACHE_HOME": str(tmp_path)})
    assert sorted(p.name for p in base.iterdir()) == sorted(
        [kernelcache.source_digest(), recent.name]
    )


_READ_ONLY_INSTALL = """
import sys, tempfile
real = tempfile.TemporaryFile

def deny_package_dirs(*args, dir=None, **kwargs):
    # What a read-only install looks like to numba's and nbtzip's probes
    # (root ignores permission bits, so the probe is refused here instead).
    if dir is not None and str(dir).startswith(sys.argv[1]):
        raise PermissionError(13, "Permission denied", str(dir))
    return real(*args, dir=dir, **kwargs)

tempfile.TemporaryFile = deny_package_dirs
sys.path.insert(0, sys.argv[1] + "/tests")
import nbtzip, nbtzip.models, conftest
from nbtzip.sample import english_like
nbtzip.models.make_codec = conftest.Order0Codec
assert nbtzip.decompress(nbtzip.compress(b"cache me")) == b"cache me"
"""


def test_read_only_install_still_caches_kernels(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("NUMBA_CACHE_DIR", None)
    subprocess.run([sys.executable, "-c", _READ_ONLY_INSTALL, str(ROOT)], env=env, check=True)
    cached = list((tmp_path / "nbtzip" / "numba" / kernelcache.source_digest()).rglob("*.nbi"))
    assert {p.name.split(".")[0] for p in cached} >= {"rangecoder", "loops", "conftest"}


@pytest.mark.parametrize("model", ["rnn", "ctw"])
def test_incompressible_blocks_are_stored_and_the_model_stays_in_step(model):
    """Random bytes never grow by more than the block headers, and a coded block
    after a stored one still decodes: the decoder's model learned the stored bytes."""
    config = RNNConfig(hidden_size=8) if model == "rnn" else CTWConfig(table_bits=20)
    noise = np.random.default_rng(3).integers(0, 256, BLOCK_SIZE, dtype=np.uint8).tobytes()
    tail = np.random.default_rng(4).integers(0, 256, 999, dtype=np.uint8).tobytes()
    text = (b"stored blocks keep the model in step. " * 7000)[:BLOCK_SIZE]
    blob = nbtzip.compress(noise + text + tail, config=config)
    blocks = raw_block_fields(blob)
    assert [stored for _, stored, _, _ in blocks] == [True, False, True]
    coded = blocks[2][3] - blocks[1][3]  # the coded block with its framing
    assert coded < BLOCK_SIZE // 4
    assert nbtzip.decompress(blob) == noise + text + tail
    overhead = len(blob) - len(noise) - len(tail) - coded
    assert overhead < 200


@pytest.mark.parametrize("model", ["rnn", "ctw"])
def test_absorbing_a_block_leaves_the_model_as_coding_it_does(model):
    config = RNNConfig(hidden_size=8) if model == "rnn" else CTWConfig(table_bits=16)
    first, second = b"absorb me, then code the rest. " * 40, b"the rest, coded. " * 60
    flags = alphabet_of(first + second)
    coded = nbtzip.models.make_codec(config, flags)
    absorbed = nbtzip.models.make_codec(config, flags)
    coded.encode_block(first)
    absorbed.absorb_block(first)
    assert coded.encode_block(second) == absorbed.encode_block(second)


def test_kernels_cache_by_source_digest_even_when_numba_was_imported_first(tmp_path):
    code = (
        "import numba, nbtzip\n"
        "config = nbtzip.CTWConfig(depth=2)\n"
        "nbtzip.decompress(nbtzip.compress(b'numba came first', config=config))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("NUMBA_CACHE_DIR", None)
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    digest_dir = tmp_path / "nbtzip" / "numba" / kernelcache.source_digest()
    assert list(digest_dir.glob("ctw_*/tree.*.nbi"))


CORPUS = sorted((ROOT / "corpus").glob("*.txt"))


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus_texts_round_trip(path):
    data = path.read_bytes()
    for config in (nbtzip.make_config(1), CTWConfig(table_bits=20)):
        blob = nbtzip.compress(data, config=config)
        assert len(blob) < len(data)
        assert nbtzip.decompress(blob) == data


def test_corpus_file_round_trips_through_the_command_line(tmp_path):
    original = (ROOT / "corpus" / "music.txt").read_bytes()
    src = tmp_path / "music.txt"
    src.write_bytes(original)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "nbtzip"]
    subprocess.run([*cmd, "compress", "-q", "-1", "--rm", str(src)], env=env, check=True)
    assert not src.exists()
    subprocess.run([*cmd, "decompress", "-q", str(src) + ".nbt"], env=env, check=True)
    assert src.read_bytes() == original


def test_progress_moves_within_a_block_both_ways(tmp_path):
    """A block is 256 KiB, seconds of work for the default model: progress comes
    after every slice of coding, not only at block ends."""
    data = english_like(200_000, seed=12)  # one block
    src, packed, out = tmp_path / "a", tmp_path / "a.nbt", tmp_path / "b"
    src.write_bytes(data)
    for function, source, dst in (
        (nbtzip.compress_file, src, packed),
        (nbtzip.decompress_file, packed, out),
    ):
        seen = []
        kwargs = {"config": MODELS["ctw"]()} if function is nbtzip.compress_file else {}
        function(source, dst, progress=lambda d, t, seen=seen: seen.append((d, t)), **kwargs)
        done = [d for d, _ in seen]
        assert len(seen) > 3 and done == sorted(done) and 0 < done[0] < len(data)
        assert seen[-1] == (len(data), len(data)) and {t for _, t in seen} == {len(data)}
    assert out.read_bytes() == data
