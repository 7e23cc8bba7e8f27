"""Model configurations (frozen dataclasses) and the -1 .. -9 presets.

A configuration is everything the decoder needs to rebuild the exact model the
encoder used; the container stores it in the file header (to_bytes, below),
so decompression needs no flags.
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass

GRADIENTS = ("nbt", "rtrl", "none", "short")
STEPS = ("kalman", "sgd")
FISHERS = ("exact", "op")

# RTRL costs O(hidden^2 * params) per byte; past this size it would take hours
# on a real file, so the codec refuses it.
RTRL_MAX_HIDDEN = 64

# Kalman prior on theta for the NoBackTrack estimate (chosen by measurement).
NBT_LAMBDA_THETA = 3000.0

# gradient "short" when exact_steps / remainder are not given: T4, measured
# (30 KB, 2 seeds, n = 32, docs/LEARNERS.md) to recover 100 % of RTRL's gain over
# a frozen theta on English (T2 99 %) and 95-100 % on the long-range synthetic
# sources (T2 64-86 %), at 1.04-1.08x NoBackTrack's time per byte; a remainder
# made it worse everywhere at K = 4.
SHORT_EXACT_STEPS = 4
SHORT_REMAINDER = 0.0
# Its Kalman prior: lambda_theta = 50 + 1000 c^2 for remainder weight c (the
# remainder's noise power grows as c^2). Measured on 30 KB of alice29.txt,
# 2 seeds: T2's best lambda is 50 at n = 32, 64 and 100 (n = 100: 25 -> 3.310,
# 50 -> 3.295, 100 -> 3.318, 200 -> 3.357 bpc); E2 at c = 0.25 is best at
# 100-200, E1 and E2 at c = 1 at 300-1000 (docs/LEARNERS.md).
SHORT_LAMBDA_THETA = 50.0
SHORT_LAMBDA_NOISE = 1000.0

# The learner of the --model rnn levels (preset()): E4, the exact gradient of
# the last four transitions plus the NoBackTrack remainder at weight c = 0.05,
# Kalman steps, lambda_theta 100. It keeps the NoBackTrack-Kalman pair at the
# core of the model (the project's rule) and learns nearly as well as T4 (the
# same without the remainder). Measured (docs/LEARNERS.md): on 30 KB of
# alice29.txt, 2 seeds, it recovers 92 / 93 / 89 % of exact RTRL's gain over a
# frozen theta at n = 32 / 64 / 100 (the paper's NoBackTrack 16 / 9 / 7 %, T4
# 100 %). lambda_theta 50 with a remainder (c = 0.025 .. 0.1) learned a little
# better on 30 KB but drifted off on 300 KB of music2.txt at n = 100 (1.64-1.77
# bpc against T4's 1.53); c = 0.05 at 100 stayed at 1.61 there and within
# 0.01 bpc of T4 on 300 KB of English. RNNConfig's own defaults stay the
# paper's Algorithm 2: headers written before this leave fields out and rely
# on them.
RNN_LEARNER = {"gradient": "short", "exact_steps": 4, "remainder": 0.05, "lambda_theta": 100.0}


class ConfigError(ValueError):
    """A configuration value is out of range or of the wrong type."""


@dataclass(frozen=True)
class RNNConfig:
    """The character RNN of eq. (27)-(28) and how it learns.

    gradient: how dh/dtheta is estimated: "nbt" (NoBackTrack, rank `rank`),
        "rtrl" (exact, the reference), "none" (theta frozen, readout only),
        "short" (the last `exact_steps` transitions exactly plus `remainder` times
        a NoBackTrack estimate of the rest, rank `rank`: learners/short.py).
    step: the step rule for theta and phi: "kalman" (quasi-diagonal, Algorithm 2)
        or "sgd" (Euclidean, eta_t = sgd_c / (n sqrt t), Algorithm 1).
    """

    hidden_size: int = 100
    gradient: str = "nbt"
    step: str = "kalman"
    rank: int = 1
    seed: int = 1
    # Kalman: gamma_t = 1 / sqrt(t); Lambda = lambda * I (added at solve time).
    # None picks the measured default: lambda_phi = hidden_size (the paper's
    # Lambda = n); lambda_theta = hidden_size for the exact RTRL gradient, and
    # NBT_LAMBDA_THETA for NoBackTrack, whose noisy estimate needs a stronger
    # prior (README, "How it works"; docs/ALGORITHMS.md); SHORT_LAMBDA_* for "short".
    lambda_theta: float | None = None
    lambda_phi: float | None = None
    fisher: str = "exact"
    # gamma_t = t ** -gamma_power: how fast the Kalman accumulators forget.
    gamma_power: float = 0.5
    # Euclidean SGD: eta_t = sgd_c / (hidden_size * sqrt(t)).
    sgd_c: float = 10.0
    # Sparse random initialisation (ALGORITHMS.md section 3).
    fan_in: int = 10
    sigma_w: float = 1.0
    sigma_r: float = 1.0
    # gradient "short" only (other gradients ignore them and hold None; they are
    # not in the header then, so the bytes of every other configuration are
    # unchanged): K exact steps, and the remainder's weight c in [0, 1]
    # (0: truncated, T_K; 1: unbiased, E_K).
    exact_steps: int | None = None
    remainder: float | None = None

    def __post_init__(self):
        _check_int("hidden_size", self.hidden_size, 1, 4096)
        if self.lambda_phi is None:
            object.__setattr__(self, "lambda_phi", float(self.hidden_size))
        _check_choice("gradient", self.gradient, GRADIENTS)
        if self.gradient == "short":
            if self.exact_steps is None:
                object.__setattr__(self, "exact_steps", SHORT_EXACT_STEPS)
            if self.remainder is None:
                object.__setattr__(self, "remainder", SHORT_REMAINDER)
            _check_int("exact_steps", self.exact_steps, 1, 16)
            _check_float("remainder", self.remainder, positive=False)
            if self.remainder > 1.0:
                raise ConfigError("remainder must be at most 1")
            object.__setattr__(self, "remainder", float(self.remainder))
        else:
            object.__setattr__(self, "exact_steps", None)
            object.__setattr__(self, "remainder", None)
        if self.lambda_theta is None:
            if self.gradient == "short":
                auto = SHORT_LAMBDA_THETA + SHORT_LAMBDA_NOISE * self.remainder**2
            else:
                auto = self.hidden_size if self.gradient == "rtrl" else NBT_LAMBDA_THETA
            object.__setattr__(self, "lambda_theta", float(auto))
        _check_choice("step", self.step, STEPS)
        _check_choice("fisher", self.fisher, FISHERS)
        _check_int("rank", self.rank, 1, 64)
        _check_int("seed", self.seed, 0, 2**63 - 1)
        _check_int("fan_in", self.fan_in, 0, 4096)
        _check_float("gamma_power", self.gamma_power, positive=True)
        if self.gamma_power > 1.0:
            raise ConfigError("gamma_power must be at most 1")
        for name in ("lambda_theta", "lambda_phi", "sgd_c"):
            _check_float(name, getattr(self, name), positive=True)
        for name in ("sigma_w", "sigma_r"):
            _check_float(name, getattr(self, name), positive=False)

    def memory_bytes(self, alphabet_size: int) -> int:
        """Bytes of the model state a stream of this network over alphabet_size
        symbols allocates: every array of rnn.step.new_net (shapes as there; the
        tests hold the two together) and the codec's frequency table. Known from
        the configuration alone, so a decoder can refuse before it allocates."""
        n, alpha = self.hidden_size, alphabet_size
        d = min(self.fan_in, n)  # network.init_params: presynaptic units per unit
        width = (alpha + 7) // 8 * 8  # network.padded: the readout's width
        rows = 1 + alpha + d  # bias, input weights, recurrent weights
        learns = self.gradient != "none"
        kalman_theta = learns and self.step == "kalman"
        kalman_phi = self.step == "kalman"
        k = self.rank if self.gradient == "nbt" else 0
        short = self.gradient == "short"
        if short and self.remainder > 0.0:
            k = self.rank  # the remainder's pairs
        fused = kalman_theta and self.gradient == "nbt" and self.rank == 1
        words = (
            rows * n + d * n + (1 + n) * width  # theta, pre, phi
            + 4 * n + d * n  # h, a, h_next, a_next; a_in
            + 4 * width + n  # logits, p, delta, fisher; H
            + k * n + 2 * k + k * rows * n + n  # vbar, wscale, wsq, wdir; v_next
            + kalman_theta * (2 * n + 2 * rows * n)  # theta's J00, m00, J0k, Jkk
            + (kalman_theta and not (short and k == 0)) * d * n  # theta's inv_w
            + (self.gradient == "rtrl") * 2 * n * rows * n  # G, G_next
            + (learns and not fused) * rows * n  # g
            + fused * (1 + d) * n  # sparse
            + kalman_phi * (2 * width + 2 * (n + 1) * width)  # phi's J00, m00, J0k, Jkk
            + 3 * n + 3 * max(n, width)  # w_norm, signs, coef; acc, g0, acc_dir
            + 4 + 2  # rng, clock
            + (1 + 1 if not short else 0)  # short.empty_state: sym, weight
            + (((self.exact_steps + 1) * (2 * d * n + 1) + 1 + k * n + 8 * n) if short else 0)
            + max(alpha, 1)  # the codec's integer frequencies
        )  # fmt: skip
        return 8 * words


@dataclass(frozen=True)
class CTWConfig:
    """Context tree weighting over bytes (see nbtzip/ctw/).

    Defaults measured on the Canterbury texts (scripts/bench_ctw.py): depth 10
    beats 6 by 1 % and 8 by 0.1 %; alpha 1/16 and a clamp of 8 bits are the
    best of 1/2 .. 1/32 and 2 .. 64 bits; halving at 255 loses nothing to 1023+.
    """

    # Context depth in bytes.
    depth: int = 10
    # KT estimator with count offset alpha = 1 / alpha_inv.
    alpha_inv: int = 16
    # |log2 beta| is clamped to this many bits.
    beta_clamp: float = 8.0
    # The node table holds 2**table_bits nodes of 8 bytes: 2**24 = 128 MiB, about
    # 1.2 MB of text at depth 10 (11 nodes a byte) before the table fills.
    table_bits: int = 24
    # Counts are halved when either reaches this.
    count_limit: int = 255

    def __post_init__(self):
        _check_int("depth", self.depth, 0, 16)
        _check_int("alpha_inv", self.alpha_inv, 1, 1024)
        _check_float("beta_clamp", self.beta_clamp, positive=True)
        if self.beta_clamp > 64:
            raise ConfigError("beta_clamp must be at most 64 (beta is stored as float32)")
        _check_int("table_bits", self.table_bits, 4, 30)
        # >= 3 so that halving never leaves a node that looks visited once;
        # <= 255 because the node table stores counts in one byte each.
        _check_int("count_limit", self.count_limit, 3, 255)

    def memory_bytes(self, alphabet_size: int) -> int:
        """Bytes of the model state of a stream: ctw.model.CTWState's node table
        (8 bytes a node), history ring (one byte a position, at least 2**12) and
        its small tables. The alphabet changes none of them."""
        ring_bits = max(self.table_bits, 12)  # ctw.model.MIN_RING_BITS
        decisions = 256 * 8 + 256  # line group per decision; the codec's forced bits
        path = 17 * (8 + 1 + 8 + 8 + 8)  # hctx, cbytes, path, pe, pw (tree.MAX_DEPTH + 1)
        return 8 * (1 << self.table_bits) + (1 << ring_bits) + decisions + path + 8 * 3


@dataclass(frozen=True)
class MixConfig:
    """Binary context mixing with the NoBackTrack RNN inside (see nbtzip/mix/).

    Every field is an int or a float, so the generic header encoding below
    serialises it (about 90 bytes). The table sizes (*_bits) are caps: the
    encoder lowers them to the input with sized(), and the decoder reads the
    lowered values from the header, so both build the same tables.
    """

    # The RNN of eq. (27)-(28), NoBackTrack rank 1 + quasi-diagonal Kalman,
    # its readout summed with the direct connections (one joint softmax).
    # 0 = no RNN (the nbtzip-no-rnn ablation).
    hidden_size: int = 32
    lambda_phi: float = 300.0
    lambda_theta: float = NBT_LAMBDA_THETA
    seed: int = 1
    # Direct connections ("maximum entropy" n-gram logits): orders 1..me_order
    # of the previous bytes plus (me_word >= 1) the current word and (me_word
    # = 2) the current word with the one before it, hashed into
    # 2**me_row_bits rows per table. Per-entry step rate * g / (F + prior), the
    # summed step of one logit capped at me_step_cap (the stability guard).
    me_order: int = 6
    me_word: int = 1
    me_row_bits: int = 16
    me_rate: float = 0.7
    me_prior: float = 1.0
    me_step_cap: float = 1.5
    # The bundled CTW as a mixer input (depth 0 = off), 8-byte nodes.
    ctw_depth: int = 10
    ctw_table_bits: int = 24
    # Match model: minimum match length (0 = off), hash table of 2**match_bits.
    match_min_len: int = 6
    match_bits: int = 22
    # Logistic mixer (two layers) and the APM stage (apm_weight 0 = off).
    mixer_rate: float = 0.01
    mixer2_rate: float = 0.002
    apm_rate: float = 0.02
    apm_weight: float = 0.5

    def __post_init__(self):
        _check_int("hidden_size", self.hidden_size, 0, 1024)
        _check_int("seed", self.seed, 0, 2**63 - 1)
        _check_int("me_order", self.me_order, 0, 12)
        _check_int("me_word", self.me_word, 0, 2)
        _check_int("me_row_bits", self.me_row_bits, 4, 24)
        _check_int("ctw_depth", self.ctw_depth, 0, 16)
        _check_int("ctw_table_bits", self.ctw_table_bits, 8, 28)
        _check_int("match_min_len", self.match_min_len, 0, 32)
        _check_int("match_bits", self.match_bits, 8, 28)
        for name in ("lambda_phi", "lambda_theta", "me_rate", "me_prior", "me_step_cap"):
            _check_float(name, getattr(self, name), positive=True)
        for name in ("mixer_rate", "mixer2_rate", "apm_rate", "apm_weight"):
            _check_float(name, getattr(self, name), positive=False)
        if self.apm_weight > 1.0 or self.apm_rate > 1.0:
            raise ConfigError("apm_weight and apm_rate must be at most 1")

    def memory_bytes(self, alphabet_size: int) -> int:
        """Bytes of the state mix.state.new_state allocates (the tests hold the
        two together): the RNN, the direct-connection weights and Fisher
        (float32), the CTW table and history ring, the match table, the APMs
        (33 float32 buckets per context), and 64 KiB for the small arrays."""
        a = max(alphabet_size, 1)
        width = (a + 7) // 8 * 8
        rnn = RNNConfig(hidden_size=max(self.hidden_size, 1)).memory_bytes(a)
        me = 2 * (1 + self.me_order + self.me_word) * (1 << self.me_row_bits) * width * 4
        ctw_bits = self.ctw_table_bits if self.ctw_depth else 4
        match_bits = self.match_bits if self.match_min_len else 4
        ring = 1 << max(ctw_bits, match_bits, 12)
        apm = (256 + a * 256) * 33 * 4
        return rnn + me + 8 * (1 << ctw_bits) + ring + 4 * (1 << match_bits) + apm + (64 << 10)

    def sized(self, n_bytes=None, alphabet_size=256):
        """This configuration with its tables no bigger than `n_bytes` of input
        needs (None: unknown size, keep the caps), and the direct-connection
        tables within MIX_ME_BUDGET bytes for this alphabet."""
        me_tables = 1 + self.me_order + self.me_word
        width = (max(alphabet_size, 1) + 7) // 8 * 8
        # Input of unknown size (a pipe longer than api.PIPE_LOOKAHEAD) gets half
        # the budget: with all 256 byte values the full one put the process at
        # 538 MB peak (alice29 through a pipe), over the 500 MB aimed at.
        budget = MIX_ME_BUDGET if n_bytes is not None else MIX_ME_BUDGET // 2
        budget_rows = budget // (me_tables * width * 8)
        me_bits = min(self.me_row_bits, max(4, budget_rows.bit_length() - 1))
        ctw_bits, match_bits = self.ctw_table_bits, self.match_bits
        if n_bytes is not None:
            size_bits = max(int(n_bytes), 1).bit_length()  # 2**size_bits > n_bytes
            # Up to 2 rows a byte: a quarter lost 0.002-0.004 bpc on files
            # under 16 KB (xargs.1, grammar.lsp, fields.c) at level 6.
            me_bits = min(me_bits, max(6, size_bits))
            ctw_bits = min(ctw_bits, max(12, size_bits + 4))  # ~11 nodes a byte
            match_bits = min(match_bits, max(10, size_bits))
        return dataclasses.replace(
            self, me_row_bits=me_bits, ctw_table_bits=ctw_bits, match_bits=match_bits
        )


# Cap on the memory of the direct-connection tables (weights + Fisher, float32).
MIX_ME_BUDGET = 256 << 20


MODELS = {"rnn": RNNConfig, "ctw": CTWConfig, "mix": MixConfig}


def model_name(config) -> str:
    for name, cls in MODELS.items():
        if isinstance(config, cls):
            return name
    raise ConfigError(f"unknown configuration type {type(config).__name__}")


# Header encoding: one byte naming the model, then every field in declaration
# order: choices as their index (1 byte), integers as unsigned LEB128, floats
# as little-endian float64 (format version 1) or, in version 2, as a tag byte
# then an integer value as LEB128 (tag 0: 3000.0, 100.0), m / 2**e as the byte e
# and m as LEB128 (tag 2: 0.5, 0.75), or else the float64 (tag 1). About 22
# bytes for an RNN in version 2, 50 in version 1, against ~200 as JSON, which
# matters on small files. Version 2 writes the number of fields after the
# model byte. Reordering fields is a format change; a field appended later must
# have a default that keeps what older files meant, and is read as that default
# from files written before it existed (version 1 files hold exactly the fields
# counted in _V1_FIELDS).
CHOICES = {"gradient": GRADIENTS, "step": STEPS, "fisher": FISHERS}
_MODEL_IDS = {"rnn": 0, "ctw": 1, "mix": 2}
_V1_FIELDS = {"rnn": 13, "ctw": 5}  # the fields version 1 files hold, in order


def _kind(cls, f):
    if f.name in CHOICES:
        return "choice"
    return "float" if "float" in str(f.type) else "int"


_INTEGRAL_FLOAT, _FLOAT64, _DYADIC = 0, 1, 2


def _dyadic(value: float):
    """(m, e) with value = m / 2**e, 1 <= e <= 60, m < 2**53; None if there is none."""
    for e in range(1, 61):
        scaled = value * 2.0**e
        if scaled.is_integer() and scaled < 2**53:
            return int(scaled), e
    return None


def _leb128(value: int, out: bytearray) -> None:
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return


def to_bytes(config, version: int = 4) -> bytes:
    if version >= 2 and isinstance(config, MixConfig):
        found = _mix_level_of(config, version)
        if found is not None:
            out = bytearray(found)
            out += bytes(getattr(config, name) for name in _MIX_SIZED)
            _leb128(config.seed, out)
            return bytes(out)
    fields = dataclasses.fields(config)
    if version < 2:
        fields = fields[: _V1_FIELDS[model_name(config)]]
    while fields and getattr(config, fields[-1].name) is None:
        fields = fields[:-1]  # trailing fields this configuration has no use for
    out = bytearray([_MODEL_IDS[model_name(config)]])
    if version >= 2:
        out.append(len(fields))
    for f in fields:
        value = getattr(config, f.name)
        kind = _kind(type(config), f)
        if kind == "choice":
            out.append(CHOICES[f.name].index(value))
        elif kind == "float" and version >= 2 and float(value).is_integer() and value < 2**53:
            out.append(_INTEGRAL_FLOAT)
            _leb128(int(value), out)
        elif kind == "float" and version >= 2 and _dyadic(float(value)) is not None:
            m, e = _dyadic(float(value))
            out += bytes([_DYADIC, e])
            _leb128(m, out)
        elif kind == "float":
            if version >= 2:
                out.append(_FLOAT64)
            out += struct.pack("<d", float(value))
        else:
            _leb128(value, out)
    return bytes(out)


class _Reader:
    def __init__(self, raw):
        self.raw, self.pos = raw, 0

    def byte(self):
        value = self.raw[self.pos]
        self.pos += 1
        return value

    def leb128(self, name):
        value = shift = 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value
            if shift > 63:
                raise ConfigError(f"{name} is not a valid integer")

    def float64(self):
        (value,) = struct.unpack_from("<d", self.raw, self.pos)
        self.pos += 8
        return value


def from_bytes(raw: bytes, version: int = 4):
    """Rebuild a configuration from its header bytes; ConfigError on anything unexpected."""
    raw = bytes(raw)
    if raw and raw[0] in MIX_TABLES and version >= _MIX_TABLE_VERSION[raw[0]]:
        return _mix_from_preset(raw)
    if not raw or raw[0] not in _MODEL_IDS.values():
        raise ConfigError("unknown model in configuration")
    name = next(k for k, v in _MODEL_IDS.items() if v == raw[0])
    cls = MODELS[name]
    r = _Reader(raw)
    r.pos = 1
    values = {}
    try:
        count = r.byte() if version >= 2 else _V1_FIELDS[name]
        fields = dataclasses.fields(cls)
        if count > len(fields):
            raise ConfigError("model configuration has fields this nbtzip does not know")
        for f in fields[:count]:  # fields appended since keep their defaults
            kind = _kind(cls, f)
            if kind == "choice":
                choices = CHOICES[f.name]
                index = r.byte()
                if index >= len(choices):
                    raise ConfigError(f"{f.name} holds an unknown choice")
                values[f.name] = choices[index]
            elif kind == "float" and version >= 2:
                tag = r.byte()
                if tag == _INTEGRAL_FLOAT:
                    values[f.name] = float(r.leb128(f.name))
                elif tag == _FLOAT64:
                    values[f.name] = r.float64()
                elif tag == _DYADIC:
                    e = r.byte()
                    if not 1 <= e <= 60:
                        raise ConfigError(f"{f.name} is not a valid number")
                    values[f.name] = r.leb128(f.name) / 2.0**e
                else:
                    raise ConfigError(f"{f.name} is not a valid number")
            elif kind == "float":
                values[f.name] = r.float64()
            else:
                values[f.name] = r.leb128(f.name)
    except (IndexError, struct.error) as exc:
        raise ConfigError("model configuration is truncated") from exc
    if r.pos != len(raw):
        raise ConfigError("model configuration has trailing bytes")
    try:
        return cls(**values)
    except TypeError as exc:  # a field the dataclass cannot take
        raise ConfigError(f"bad model configuration: {exc}") from None


def _mix_from_preset(raw):
    r = _Reader(raw)
    r.pos = 1
    try:
        level = r.byte()
        sized = {name: r.byte() for name in _MIX_SIZED}
        seed = r.leb128("seed")
    except IndexError as exc:
        raise ConfigError("model configuration is truncated") from exc
    if r.pos != len(raw):
        raise ConfigError("model configuration has trailing bytes")
    return mix_preset(level, raw[0], seed=seed, **sized)  # ConfigError for a bad level


def _check_int(name, value, lo, hi):
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ConfigError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")


def _check_float(name, value, positive):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(f"{name} must be finite")
    if (value <= 0) if positive else (value < 0):
        raise ConfigError(f"{name} must be {'positive' if positive else 'non-negative'}")


def _check_choice(name, value, choices):
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


@dataclass(frozen=True)
class Level:
    hidden_size: int


# Presets from fast to strong. Measured on 60 KB of English: the hidden size
# is what buys bits (n = 16: 3.89 bpc, 100: 3.30, 300: 3.11) while rank 2 or a
# fan-in of 20 at n = 200 moved bpc by less than 0.01 for up to twice the
# time, so the levels differ by hidden size only (README, "Levels").
LEVELS = {
    1: Level(16),
    2: Level(32),
    3: Level(48),
    4: Level(64),
    5: Level(80),
    6: Level(100),
    7: Level(150),
    8: Level(200),
    9: Level(300),
}
DEFAULT_LEVEL = 6


def preset(level: int, **overrides) -> RNNConfig:
    """The paper's RNN at a level (--model rnn), learning with RNN_LEARNER.

    An override of gradient replaces the whole learner, so gradient="nbt" is
    exactly the paper's NoBackTrack with its own lambda_theta (RNNConfig's
    defaults). One of exact_steps or remainder changes that field of
    RNN_LEARNER, and lambda_theta is then the estimate's own default."""
    if level not in LEVELS:
        raise ConfigError(f"level must be 1..9, got {level!r}")
    lv = LEVELS[level]
    overrides = {k: v for k, v in overrides.items() if v is not None}
    base = {"hidden_size": lv.hidden_size}
    if "gradient" not in overrides:
        base.update(RNN_LEARNER)
        if "exact_steps" in overrides or "remainder" in overrides:
            del base["lambda_theta"]
    base.update(overrides)
    return RNNConfig(**base)


# Levels of the default model, the mixture (nbtzip/mix/): every level keeps the
# NoBackTrack-Kalman RNN in the mix; lower levels use fewer hidden units, a
# shallower CTW and fewer direct-connection orders. Table sizes are caps that
# MixConfig.sized() lowers to the input. A header names a level by the id of
# its table (below) and the sized tables only, so a released table is part of
# the format: change a level and old files decode wrongly; add a table instead
# (golden files check).
MIX_LEVELS_V2 = {
    1: dict(hidden_size=4, me_order=3, me_word=0, ctw_depth=4, me_row_bits=14),
    2: dict(hidden_size=8, me_order=4, me_word=0, ctw_depth=6, me_row_bits=14),
    3: dict(hidden_size=8, me_order=4, me_word=1, ctw_depth=8, me_row_bits=15),
    4: dict(hidden_size=12, me_order=5, me_word=1, ctw_depth=8),
    5: dict(hidden_size=16, me_order=6, me_word=1, ctw_depth=8),
    6: dict(hidden_size=16, me_order=6, me_word=1, ctw_depth=10),
    7: dict(hidden_size=32, me_order=6, me_word=1, ctw_depth=12),
    8: dict(hidden_size=64, me_order=7, me_word=1, ctw_depth=12),
    9: dict(hidden_size=100, me_order=8, me_word=1, ctw_depth=16),
}
# Learning rates, priors and the match length of format version 3's table,
# found by coordinate descent at level 6 on asyoulik.txt, cp.html, xargs.1,
# grammar.lsp and lcet10.txt's first 150 KB (training 2.0502 -> 2.0226 bpc);
# held out: alice29.txt 1.9487 -> 1.9301, fields.c 1.7452 -> 1.7063,
# plrabn12.txt 2.1052 -> 2.0927 (ideal code lengths). me_step_cap 3.0, not
# the 4.2 the search ended at: 0.001 bpc worse, the guard kept well on.
MIX_TUNED = dict(
    lambda_phi=150.0, lambda_theta=1500.0, me_rate=0.686, me_prior=1.4, me_step_cap=3.0,
    mixer_rate=0.007, mixer2_rate=0.0007, apm_rate=0.024, apm_weight=0.6, match_min_len=2,
)  # fmt: skip
# Levels 2-9 gain with them on asyoulik.txt (0.014-0.029 bpc) and held-out
# alice29.txt (levels 3-9 0.006-0.019, level 2 unchanged); level 1's small
# tables lost 0.039 on alice29 with 2-byte matches, so it keeps matches of 6.
MIX_LEVELS_V3 = {level: {**fields, **MIX_TUNED} for level, fields in MIX_LEVELS_V2.items()}
MIX_LEVELS_V3[1]["match_min_len"] = 6
# With these rates the RNN's size hardly moves bpc at levels 4-6, and 8 units
# were as good as 12 or 16 on the training files, within 0.0001, or better
# (asyoulik.txt 2.1807 against 2.1814-2.1816; cp.html 2.0417 against 2.0416
# at level 4, 2.0419-2.0425 against 2.0428-2.0433 at 5-6) for 15-25 % less
# time a byte; held out at level 6, alice29.txt 1.9294 against 1.9301,
# fields.c 1.7067 against 1.7063.
for level in (4, 5, 6):
    MIX_LEVELS_V3[level]["hidden_size"] = 8
# Format version 4's table. The word bigram (me_word = 2) is the gain: on the
# training files (ideal code length, the sizing of MixConfig.sized above) level
# 1 went 2.0897 -> 2.0446 bpc, 2 2.0605 -> 2.0261, 3 2.0285 -> 2.0199, 6
# 2.0219 -> 2.0164 with me_step_cap 4 (which alone gave 0.001 at level 6 and
# nothing at 1-3); held out, alice29.txt at level 1 1.9994 -> 1.9484, at 6
# 1.9294 -> 1.9198. Levels 7-9 grow the RNN (its readout prior with it) and
# take CTW one byte shallower: training 2.0159, 2.0158, 2.0153 against 2.0164
# at level 6, for 1.3x, 1.8x, 2.6x its time; held out they win on fields.c and
# tie on alice29.txt (README, "Levels").
_WORD2 = dict(me_word=2, me_step_cap=4.0)
MIX_LEVELS = {
    1: {**MIX_LEVELS_V3[1], "me_word": 2},
    2: {**MIX_LEVELS_V3[2], "me_word": 2},
    3: {**MIX_LEVELS_V3[3], "me_word": 2},
    4: {**MIX_LEVELS_V3[4], **_WORD2},
    5: {**MIX_LEVELS_V3[4], **_WORD2, "ctw_depth": 10},
    6: {**MIX_LEVELS_V3[6], **_WORD2},
    7: {**MIX_LEVELS_V3[6], **_WORD2, "hidden_size": 32, "lambda_phi": 600.0},
    8: {**MIX_LEVELS_V3[6], **_WORD2, "hidden_size": 64, "lambda_phi": 900.0, "ctw_depth": 9},
    9: {**MIX_LEVELS_V3[6], **_WORD2, "hidden_size": 100, "lambda_phi": 900.0, "ctw_depth": 9},
}
# Preset tables by their id in a header: 3 since format version 2, 4 since 3, 5 since 4.
MIX_TABLES = {3: MIX_LEVELS_V2, 4: MIX_LEVELS_V3, 5: MIX_LEVELS}
_MIX_TABLE_VERSION = {3: 2, 4: 3, 5: 4}  # the first format version that holds each id
_MIX_NEWEST = 5


def mix_preset(level: int = DEFAULT_LEVEL, table: int = _MIX_NEWEST, **overrides) -> MixConfig:
    """The mixture at a level, before sizing to the input (the default model).

    table: the id of the preset table (MIX_TABLES); the newest unless decoding."""
    if level not in MIX_LEVELS:
        raise ConfigError(f"level must be 1..9, got {level!r}")
    base = {**MIX_TABLES[table][level], **{k: v for k, v in overrides.items() if v is not None}}
    return MixConfig(**base)


# What a header holds of a mixture at a level: the table id, the level, the
# fields sizing and the seed may change, nothing else (28 bytes for an empty input).
_MIX_SIZED = ("me_row_bits", "ctw_table_bits", "match_bits")


def mix_preset_of(config, version: int = 4):
    """(preset table id, level) of a mixture written as a preset in that format
    version, up to its sized tables and seed; None for any other configuration."""
    if not isinstance(config, MixConfig):
        return None
    return _mix_level_of(config, version)


def _mix_level_of(config, version):
    """(table id, level) whose preset config is, up to its sized tables and seed, in a
    table that format version holds (the newest first); else None."""
    keep = {name: getattr(config, name) for name in (*_MIX_SIZED, "seed")}
    for table in sorted(MIX_TABLES, reverse=True):
        if _MIX_TABLE_VERSION[table] <= version:
            for level in MIX_TABLES[table]:
                if dataclasses.replace(mix_preset(level, table), **keep) == config:
                    return table, level
    return None
