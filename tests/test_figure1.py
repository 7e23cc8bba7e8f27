"""scripts/figure1.py: the chunked, cycled, budgeted runs give the same curves as one plain run."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from nbtzip import config as nbtzip_config
from nbtzip.alphabet import Alphabet
from nbtzip.config import CTWConfig, RNNConfig
from nbtzip.ctw.model import code_lengths as ctw_code_lengths
from nbtzip.rnn import step as online

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "figure1.py"


@pytest.fixture(scope="module")
def fig1():
    spec = importlib.util.spec_from_file_location("figure1", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_text(length=300):
    rng = np.random.default_rng(5)
    return bytes(rng.choice(list(b"abcd ef\n"), size=length).tolist())


def expected_points(bits, grid):
    t = grid[grid <= bits.size]
    return t, np.cumsum(bits)[t - 1] / t


def test_curve_built_chunk_by_chunk_equals_cumulative_average(fig1):
    bits = np.random.default_rng(0).exponential(size=5000)
    grid = fig1.curve_grid(points_per_decade=20)
    curve = fig1.Curve(grid)
    for piece in np.split(bits, [1, 7, 700, 701, 4000]):
        curve.add(piece)
    t, average = curve.points()
    want_t, want = expected_points(bits, grid)
    assert t == want_t.tolist() + [5000]
    np.testing.assert_allclose(average, want.tolist() + [bits.mean()], rtol=1e-12)


def test_cycled_budgeted_rnn_run_equals_one_run_over_the_repeated_file(fig1):
    data = tiny_text()
    alphabet = Alphabet.of(data)
    symbols = alphabet.symbols(data)
    config = RNNConfig(hidden_size=6)
    grid = fig1.curve_grid()
    curve, seconds = fig1.run_rnn(symbols, alphabet.size, config, 60.0, grid, max_chars=750)
    assert curve.count == 750 and seconds > 0
    # Two complete passes end at characters 300 and 600.
    assert [c for c, _ in curve.pass_totals] == [300, 600]
    bits = online.online_losses(np.tile(symbols, 3)[:750], alphabet.size, config)
    t, average = curve.points()
    want_t, want = expected_points(bits, grid)
    assert t == want_t.tolist() + [750]
    np.testing.assert_allclose(average, want.tolist() + [bits.mean()], rtol=1e-9)
    np.testing.assert_allclose(curve.last_pass(), bits[300:600].mean(), rtol=1e-9)


def test_cycled_ctw_run_equals_ctw_over_the_repeated_file(fig1):
    data = tiny_text()
    config = CTWConfig(depth=3, table_bits=12)
    grid = fig1.curve_grid()
    curve, _ = fig1.run_ctw(data, config, 700, grid)
    bits = ctw_code_lengths(data * 3, config)[:700]
    assert curve.count == 700
    np.testing.assert_allclose(curve.total, bits.sum(), rtol=1e-9)
    np.testing.assert_allclose(curve.at(100), bits[:100].mean(), rtol=1e-9)


def test_script_prints_a_json_table_with_every_method(fig1, tmp_path, capsys):
    path = tmp_path / "tiny.txt"
    path.write_bytes(tiny_text(200))
    fig1.main(
        ["--file", str(path), "--budget", "0.05", "--hidden", "4", "--out", "", "--json", "-"]
    )
    table = json.loads(capsys.readouterr().out)
    methods = [row["method"] for row in table["rows"]]
    assert methods == ["rtrl", "rtrl-kalman", "nbt-euclidean", "nbt-kalman", "ctw", "gzip"]
    assert table["entropy_rate"] is None
    rows = {row["method"]: row for row in table["rows"]}
    assert rows["ctw"]["chars"] >= max(400, rows["nbt-kalman"]["chars"])
    for row in table["rows"]:
        assert row["chars"] > 0 and row["bpc_final"] > 0


def test_extra_learners_run_beside_the_paper_ones(fig1, tmp_path, capsys):
    path = tmp_path / "tiny.txt"
    path.write_bytes(tiny_text(200))
    fig1.main(
        ["--file", str(path), "--budget", "0.05", "--hidden", "4", "--out", "", "--json", "-"]
        + ["--no-rtrl-kalman", "--extra", "default", "t4"]
    )
    table = json.loads(capsys.readouterr().out)
    methods = [row["method"] for row in table["rows"]]
    assert methods == [
        "rtrl", "nbt-euclidean", "nbt-kalman", "default-kalman", "t4-kalman", "ctw", "gzip"
    ]  # fmt: skip
    assert fig1.RNN_METHODS["default-kalman"][1] == nbtzip_config.RNN_LEARNER
    for row in table["rows"]:
        assert row["chars"] > 0 and row["bpc_final"] > 0
