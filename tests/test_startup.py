"""The command line's start-up: cached kernels load without numba's compiler set-up.

nbtzip/cli/startup.py skips numba's refresh of its compiler target when a
kernel comes from the cache. A kernel that needed something the refresh
provides would fail to link or give other bytes; this runs every model's
encoder and decoder in a process set up that way and compares the bytes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbtzip
from nbtzip.sample import english_like

ROOT = Path(__file__).resolve().parent.parent

# Evaluated here and in the child, so both build the same configurations.
CONFIGS = """[
    nbtzip.make_config(6),
    nbtzip.make_config(1),
    nbtzip.CTWConfig(depth=4, table_bits=12),
    nbtzip.RNNConfig(hidden_size=6, gradient="nbt", step="kalman"),
    nbtzip.RNNConfig(hidden_size=6, gradient="nbt", step="sgd"),
    nbtzip.RNNConfig(hidden_size=6, gradient="rtrl"),
    nbtzip.RNNConfig(hidden_size=6, gradient="short"),
    nbtzip.RNNConfig(hidden_size=6, gradient="none"),
]"""

CHILD = f"""
import sys
import nbtzip
from nbtzip.cli.startup import load_kernels_lazily
assert load_kernels_lazily()
data = open(sys.argv[1], "rb").read()
for config in {CONFIGS}:
    packed = nbtzip.compress(data, config=config)
    assert nbtzip.decompress(packed) == data
    sys.stdout.write(packed.hex() + "\\n")
# numba imports its lowering rules only to compile, or in the refresh skipped here
print("arraymath" if "numba.np.arraymath" in sys.modules else "lazy")
"""


def test_cached_kernels_load_lazily_and_give_the_same_bytes(tmp_path):
    data = english_like(3000, seed=5) + bytes(range(0, 256, 3))
    src = tmp_path / "in.bin"
    src.write_bytes(data)
    expected = []
    for config in eval(CONFIGS):  # compiles, or loads, every kernel the child needs
        packed = nbtzip.compress(data, config=config)
        assert nbtzip.decompress(packed) == data
        expected.append(packed.hex())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the same kernel cache (kernelcache.configure)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(src)], capture_output=True, text=True, env=env
    )
    assert child.returncode == 0, child.stderr
    lines = child.stdout.split()
    assert lines[:-1] == expected
    assert lines[-1] == "lazy"
