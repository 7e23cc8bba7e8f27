"""The state of the mixing model: namedtuples of numpy arrays, grouped by role.

new_state(config, alphabet_flags) builds everything once per stream; the jitted
kernels (model.py) mutate the arrays in place, so the state carries from one
block to the next. Scalars that change while coding are one-element arrays
(`hist.pos[0]`), hyperparameters are plain named scalars of `Hyper`.
"""

from collections import namedtuple

import numpy as np

from ..config import NBT_LAMBDA_THETA, MixConfig, RNNConfig
from ..ctw.tree import LINE, MAX_DEPTH, NODE, decision_groups
from ..numeric import mathfn
from ..rnn import step as online
from .mixer import APM_BUCKETS, N_INPUTS, N_SETS, SET_ROWS_TOTAL, new_tables

# Named scalar hyperparameters (immutable while coding).
Hyper = namedtuple(
    "Hyper",
    [
        "alphabet_size",  # A, symbols 0..A-1 = the sorted bytes present
        "hidden_size",  # RNN units, 0 = no RNN
        "me_order",  # direct connections of orders 1..me_order (+ order 0)
        "me_word",  # 1 = a word-context table after the order tables
        "me_row_mask",  # rows per table - 1
        "me_rate",
        "me_prior",
        "me_step_cap",
        "me_limit",  # |D| never leaves [-me_limit, me_limit]
        "ctw_depth",  # 0 = CTW off
        "ctw_alpha_inv",
        "ctw_beta_max",
        "ctw_count_limit",
        "ctw_line_shift",
        "ring_mask",
        "match_min_len",  # 0 = match model off
        "match_mask",
        "mixer_rate",
        "mixer2_rate",
        "apm_rate",
        "apm_weight",
    ],
)

# Byte history shared by every component.
History = namedtuple(
    "History",
    [
        "ring",  # uint8, the last ring_mask + 1 bytes
        "pos",  # [bytes seen]
        "word",  # [hash of the current word, 0 between words]
        "prev_word",  # [hash of the last finished word]
        "prev_word2",  # [hash of the word before it]
        "symbol_of",  # byte -> RNN symbol, -1 if absent
        "byte_of",  # RNN symbol -> byte
        "level",  # decision node k -> bits already decided (0..7)
    ],
)

# The direct connections; with the RNN (online.Net, kept apart in State.net so
# that the per-decision kernels never handle its 40 arrays) one softmax over
# the alphabet, whose p is net.p.
Softmax = namedtuple(
    "Softmax",
    [
        "rows",  # table row of each direct-connection table for this byte
        "weights",  # float32 (tables, rows, width): logits per context row
        "fisher",  # float32, same shape: accumulated p (1 - p) per entry
        "logits",  # joint logits of this byte
        "gain",  # scratch: summed step gain per symbol
        "tree",  # float64[512]: tree[256 + byte] = p, tree[k] = sum below node k
    ],
)

# The bundled CTW's kernels over its own table.
CTW = namedtuple(
    "CTW",
    ["table", "meta", "group", "hctx", "cbytes", "path", "pe", "pw", "last"],
)

# Match model: the byte that followed the longest recent match of the context.
Match = namedtuple(
    "Match",
    [
        "table",  # uint32: hash of the last match_min_len bytes -> position after them + 1
        "ptr",  # [position of the predicted byte]
        "length",  # [match length in bytes, 0 = none]
        "prob",  # float64[64]: P(bit = 1) per (length bucket, expected bit)
        "count",  # int32[64]: updates seen per entry (capped)
        "ctx",  # [entry used by this decision, -1 = no prediction]
        "expected",  # [the predicted byte of this byte, -1 = none]
    ],
)

# Two-layer logistic mixer in the stretch domain, then two APMs.
Mixer = namedtuple(
    "Mixer",
    [
        "st_table",  # stretch table (mixer.new_tables)
        "sq_table",  # squash table
        "x",  # stretched inputs of this decision (+ bias)
        "w1",  # (rows of all sets, inputs): first-layer weight sets
        "sel",  # row of each set chosen for this decision
        "p1",  # each set's output probability
        "x2",  # their stretches (+ bias)
        "w2",  # (8 levels, sets + 1)
        "p2",  # [the mixer's output]
        "apm1",  # float32 (256, buckets): APM by decision node
        "apm2",  # float32 (A * 256, buckets): APM by previous symbol and node
        "apm_at",  # [bucket index j, row of apm2]
        "apm_frac",  # [interpolation weight of bucket j + 1]
        "p_final",  # [the probability handed to the coder]
    ],
)

# net: online.Net of the RNN (a 1-unit stand-in that never runs when hidden_size = 0).
State = namedtuple("State", ["hyper", "hist", "net", "soft", "ctw", "match", "mixer"])


def new_state(config: MixConfig, alphabet_flags) -> State:
    """The initial state of a stream coded with `config` over the bytes flagged present."""
    flags = np.asarray(alphabet_flags, dtype=bool)
    if flags.shape != (256,):
        raise ValueError("alphabet_flags must be 256 booleans")
    byte_of = np.flatnonzero(flags).astype(np.int64)
    A = max(int(byte_of.size), 1)
    if byte_of.size == 0:
        byte_of = np.zeros(1, dtype=np.int64)  # an empty stream: never coded
    symbol_of = np.full(256, -1, dtype=np.int64)
    symbol_of[byte_of] = np.arange(byte_of.size)
    level = np.zeros(256, dtype=np.int64)
    for k in range(1, 256):
        level[k] = k.bit_length() - 1

    rnn_config = RNNConfig(
        hidden_size=max(config.hidden_size, 1),
        gradient="nbt",
        step="kalman",
        seed=config.seed,
        lambda_phi=config.lambda_phi,
        lambda_theta=config.lambda_theta if config.hidden_size else NBT_LAMBDA_THETA,
    )
    net = online.new_net(rnn_config, A)
    width = net.p.shape[0]
    tables = 1 + config.me_order + config.me_word
    rows = 1 << config.me_row_bits
    soft = Softmax(
        rows=np.zeros(tables, dtype=np.int64),
        weights=np.zeros((tables, rows, width), dtype=np.float32),
        fisher=np.zeros((tables, rows, width), dtype=np.float32),
        logits=np.zeros(width),
        gain=np.zeros(width),
        tree=np.zeros(512),
    )

    ctw_bits = config.ctw_table_bits if config.ctw_depth else 4
    ring_bits = max(ctw_bits, config.match_bits, 12)
    ctw = CTW(
        table=np.zeros(1 << ctw_bits, dtype=NODE),
        meta=np.zeros(2, dtype=np.int64),
        group=decision_groups(8),
        hctx=np.zeros(MAX_DEPTH + 1, np.uint64),
        cbytes=np.zeros(MAX_DEPTH + 1, np.uint8),
        path=np.zeros(MAX_DEPTH + 1, np.int64),
        pe=np.zeros(MAX_DEPTH + 1),
        pw=np.zeros(MAX_DEPTH + 1),
        last=np.full(1, -1, dtype=np.int64),
    )
    match_bits = config.match_bits if config.match_min_len else 4
    match = Match(
        table=np.zeros(1 << match_bits, dtype=np.uint32),
        ptr=np.zeros(1, dtype=np.int64),
        length=np.zeros(1, dtype=np.int64),
        prob=np.full(64, 0.5),
        count=np.zeros(64, dtype=np.int32),
        ctx=np.full(1, -1, dtype=np.int64),
        expected=np.full(1, -1, dtype=np.int64),
    )
    w1 = np.zeros((SET_ROWS_TOTAL, N_INPUTS))
    w1[:, :-1] = 0.3  # every input counts a little at the start; bias weight 0
    w2 = np.full((8, N_SETS + 1), 1.0 / N_SETS)
    w2[:, -1] = 0.0
    apm_init = np.array(
        [1.0 / (1.0 + mathfn.exp(-(j - APM_BUCKETS // 2) * 0.5)) for j in range(APM_BUCKETS)]
    )
    st_table, sq_table = new_tables()
    mixer = Mixer(
        st_table=st_table,
        sq_table=sq_table,
        x=np.zeros(N_INPUTS),
        w1=w1,
        sel=np.zeros(N_SETS, dtype=np.int64),
        p1=np.zeros(N_SETS),
        x2=np.zeros(N_SETS + 1),
        w2=w2,
        p2=np.zeros(1),
        apm1=np.tile(apm_init, (256, 1)).astype(np.float32),
        apm2=np.tile(apm_init, (A * 256, 1)).astype(np.float32),
        apm_at=np.zeros(2, dtype=np.int64),
        apm_frac=np.zeros(1),
        p_final=np.full(1, 0.5),
    )
    hist = History(
        ring=np.zeros(1 << ring_bits, dtype=np.uint8),
        pos=np.zeros(1, dtype=np.int64),
        word=np.zeros(1, dtype=np.uint64),
        prev_word=np.zeros(1, dtype=np.uint64),
        prev_word2=np.zeros(1, dtype=np.uint64),
        symbol_of=symbol_of,
        byte_of=byte_of,
        level=level,
    )
    hyper = Hyper(
        alphabet_size=A,
        hidden_size=config.hidden_size,
        me_order=config.me_order,
        me_word=config.me_word,
        me_row_mask=rows - 1,
        me_rate=float(config.me_rate),
        me_prior=float(config.me_prior),
        me_step_cap=float(config.me_step_cap),
        me_limit=ME_LIMIT,
        ctw_depth=config.ctw_depth,
        ctw_alpha_inv=CTW_ALPHA_INV,
        ctw_beta_max=mathfn.exp(CTW_BETA_CLAMP_BITS * mathfn.LN2),
        ctw_count_limit=CTW_COUNT_LIMIT,
        ctw_line_shift=64 - (ctw_bits - (LINE.bit_length() - 1)),
        ring_mask=(1 << ring_bits) - 1,
        match_min_len=config.match_min_len,
        match_mask=(1 << match_bits) - 1,
        mixer_rate=float(config.mixer_rate),
        mixer2_rate=float(config.mixer2_rate),
        apm_rate=float(config.apm_rate),
        apm_weight=float(config.apm_weight),
    )
    return State(hyper=hyper, hist=hist, net=net, soft=soft, ctw=ctw, match=match, mixer=mixer)


# CTW estimator settings: CTWConfig's measured defaults (config.py).
CTW_ALPHA_INV = 16
CTW_BETA_CLAMP_BITS = 8.0
CTW_COUNT_LIMIT = 255
# Bound on a direct-connection weight: keeps logits finite whatever the input.
ME_LIMIT = 16.0


def memory_bytes(state: State) -> int:
    """Bytes held by the state's arrays (what new_state allocates)."""
    total = 0
    for group in state[1:]:
        for item in group:
            if isinstance(item, np.ndarray):
                total += item.nbytes
            elif isinstance(item, tuple):
                total += sum(a.nbytes for a in item if isinstance(a, np.ndarray))
    return total
