"""Context tree weighting kernels: node table, KT estimator, weighting along one path.

The model follows the TU Eindhoven "CTW 0.1" design (Willems, Shtarkov, Tjalkens;
Volf's thesis). A symbol of `nbits` bits (8 for bytes) is coded as nbits binary
decisions, most significant bit first. Decision k (k = 1 for the first bit, then
k = 2k + bit, so 1 .. 2**nbits - 1) has its own context tree. A node at depth d
of a tree is the context "the last d symbols were c_1 .. c_d"; its children are
indexed by the whole next older symbol, so one level is one more symbol of
context and the tree has depth D symbols.

Each node keeps integer counts (n0, n1) and the ratio
    beta = P_e(s) / prod_children P_w(child)
so that the weighted probability P_w(s) = 1/2 P_e(s) + 1/2 prod P_w(child) turns
into a conditional probability computed along the D + 1 nodes of the current
path only (leaf to root):
    P_w(x | s) = (beta P_e(x | s) + P_w(x | child)) / (beta + 1),
and after coding x:  beta <- beta P_e(x | s) / P_w(x | child), with
|log2 beta| clamped to `beta_clamp` bits. beta is kept as a float32 ratio, not
as its log: clamping the ratio to [2**-c, 2**c] is the same clamp and needs no
transcendental on the coding path. All arithmetic is IEEE + - * / in a fixed
order, so encoder and decoder compute identical probabilities.

Unique-path pruning keeps memory near 11 nodes per byte of text at depth 10
(measured), rather than a node at every depth below each new context. A node
visited exactly once (a "singleton") stands for its whole chain of descendants
along the context it was visited in: those nodes would all hold the same single
count and beta = 1, so they are not stored. The singleton remembers the stream
position of that visit; when the context comes back, the history ring gives the
older context bytes and the chain is unrolled one node at a time, exactly as
the full tree would hold it. A fresh node stands
for a fresh subtree (every node P_e = P_w = 1/2), so the path stops there.
Positions are kept mod 2**32: past 4 GiB an old singleton may unroll from the
wrong bytes, which is deterministic and costs compression only.

Memory: one table of 2**table_bits nodes of 8 bytes, allocated once, seen as
64-byte lines of 8 slots. The nodes of 2 or 3 consecutive decisions of one
context (decisions 1-7, then the 3-level subtrees below, then the last 2
levels) share a line, so one byte costs about 3 cache misses per depth rather
than 8. A node probes its line and the next two; when all are full it is not
added and the path stops at the deepest node found. The same happens when a
singleton's history has left the ring. Both are deterministic, so a saturated
table only costs compression, never correctness.
"""

import numpy as np
from numba import njit

# A singleton's beta is 1 by construction, so its 4-byte word holds the stream
# position of its visit instead (fields "beta" and "pos" overlap).
NODE = np.dtype(
    {
        "names": ["chk", "n0", "n1", "beta", "pos"],
        "formats": [np.uint16, np.uint8, np.uint8, np.float32, np.uint32],
        "offsets": [0, 2, 3, 4, 4],
        "itemsize": 8,
    }
)
LINE = 8  # nodes per 64-byte line
# Lines a node may use: its own and the next ones. 3 rather than 2 keeps nodes
# from being turned away at 60 % fill (0.2 % better on text), 4 gains little.
PROBE_LINES = 3
MAX_DEPTH = 16
GROUP_LEVELS = (0, 3, 6)  # first decision level of each line group

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_TREE = np.uint64(0xD6E8FEB86659FD93)
_S33 = np.uint64(33)
_LOW16 = np.uint64(0xFFFF)
_ROOT_HASH = np.uint64(0x243F6A8885A308D3)
_POS_MASK = 0xFFFFFFFF


def decision_groups(nbits):
    """Per decision k, the decision heading its line group (its ancestor at 0, 3 or 6 levels)."""
    group = np.zeros(1 << nbits, dtype=np.int64)
    for k in range(1, 1 << nbits):
        level = k.bit_length() - 1
        first = max(g for g in GROUP_LEVELS if g <= level)
        group[k] = k >> (level - first)
    return group


@njit(cache=True)
def _fmix(x):
    # 64-bit finaliser (MurmurHash3): every output bit depends on every input bit.
    x ^= x >> _S33
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


@njit(cache=True)
def ctx_step(h, symbol, depth):
    """Hash of a context one symbol deeper: (h = hash of c_1..c_{d-1}, c_d, d)."""
    return _fmix(h + np.uint64((depth << 16) | symbol) * _GOLD)


@njit(cache=True)
def context_hashes(ring, ring_mask, t, depth, hctx, cbytes):
    """Hashes and symbols of the contexts of depth 0..depth before position t.

    cbytes[d] is the symbol d positions back (positions before the stream read
    as 0, the ring's initial contents).
    """
    h = _ROOT_HASH
    hctx[0] = h
    for d in range(1, depth + 1):
        c = ring[(t - d) & ring_mask]
        cbytes[d] = c
        h = ctx_step(h, c, d)
        hctx[d] = h


@njit(cache=True)
def kt_p1(n0, n1, alpha_inv):
    """KT estimator with count offset alpha = 1/alpha_inv: P(next bit = 1).

    (n1 + alpha) / (n0 + n1 + 2 alpha), written with integers so it is one
    correctly rounded division.
    """
    return (n1 * alpha_inv + 1.0) / ((n0 + n1) * alpha_inv + 2.0)


@njit(cache=True)
def find_or_add(tab, h, k, group, line_shift, meta):
    """Slot of node (context hash h, decision k), adding a fresh node if absent.

    Returns (slot, added); slot is -1 when every line it may use is full.
    """
    x = _fmix(h ^ (np.uint64(group) * _TREE))
    # Distinct decisions of one group get distinct checks (odd multiplier mod 2**16).
    chk = np.uint16(((x & _LOW16) + np.uint64(k * 0x9E37)) & _LOW16)
    if chk == 0:
        chk = np.uint16(1)
    n_lines = tab.shape[0] // LINE
    line = np.int64(x >> np.uint64(line_shift))
    start = np.int64(chk)
    for probe in range(PROBE_LINES):
        base = ((line + probe) & (n_lines - 1)) * LINE
        for i in range(LINE):
            s = base + ((start + i) & (LINE - 1))
            c = tab[s].chk
            if c == chk:
                return s, False
            if c == 0:
                tab[s].chk = chk
                tab[s].n0 = 0
                tab[s].n1 = 0
                tab[s].beta = 1.0
                meta[1] += 1
                return s, True
    return -1, False


@njit(cache=True)
def _copy_singleton(tab, dst, src):
    tab[dst].n0 = tab[src].n0
    tab[dst].n1 = tab[src].n1
    tab[dst].pos = tab[src].pos


@njit(cache=True)
def descend(tab, ring, ring_mask, line_shift, meta, k, group, depth, hctx, cbytes, path):
    """Find (adding as needed) the nodes of tree k on the current context path.

    Fills path[0..L] with slots and returns L (-1 if not even the root fits).
    The path stops early at a fresh node (its subtree is all fresh), at full
    lines, or at a singleton whose older context has left the history ring.
    """
    t = meta[0]
    last = -1
    for d in range(depth + 1):
        s, added = find_or_add(tab, hctx[d], k, group, line_shift, meta)
        if s < 0:
            break
        path[d] = s
        last = d
        if added or d == depth:
            break
        if int(tab[s].n0) + int(tab[s].n1) != 1:
            continue
        # Singleton: materialise its child on the path it was first seen on.
        p = np.int64(tab[s].pos)
        age = (t - p) & _POS_MASK
        if age > ring_mask + 1 - (d + 1):
            break  # that context is no longer in the ring: s serves as the leaf
        old = ring[(p - (d + 1)) & ring_mask]
        if old == cbytes[d + 1]:
            child_hash = hctx[d + 1]
        else:
            child_hash = ctx_step(hctx[d], old, d + 1)
        c, c_added = find_or_add(tab, child_hash, k, group, line_shift, meta)
        if c_added:
            _copy_singleton(tab, c, s)
    return last


@njit(cache=True)
def _beta(tab, s):
    # Fresh and singleton nodes have beta = 1 (a singleton's word holds its position).
    if int(tab[s].n0) + int(tab[s].n1) <= 1:
        return 1.0
    return np.float64(tab[s].beta)


@njit(cache=True)
def predict(tab, path, last, alpha_inv, pe, pw):
    """P(bit = 1) weighted over path[0..last]; keeps pe[d], pw[d] for learn()."""
    if last < 0:
        return 0.5
    for d in range(last + 1):
        s = path[d]
        pe[d] = kt_p1(int(tab[s].n0), int(tab[s].n1), alpha_inv)
    p = pe[last]
    pw[last] = p
    for d in range(last - 1, -1, -1):
        b = _beta(tab, path[d])
        p = (b * pe[d] + p) / (b + 1.0)
        pw[d] = p
    return p


@njit(cache=True)
def learn(tab, path, last, pe, pw, bit, beta_max, count_limit, t):
    """Update counts and beta along path[0..last] after coding `bit` at position t."""
    beta_min = 1.0 / beta_max
    for d in range(last + 1):
        s = path[d]
        b = _beta(tab, s)
        if d < last:
            if bit:
                b *= pe[d] / pw[d + 1]
            else:
                b *= (1.0 - pe[d]) / (1.0 - pw[d + 1])
            if b > beta_max:
                b = beta_max
            elif b < beta_min:
                b = beta_min
        n0 = int(tab[s].n0)
        n1 = int(tab[s].n1)
        fresh = n0 + n1 == 0
        if bit:
            n1 += 1
        else:
            n0 += 1
        if n0 >= count_limit or n1 >= count_limit:
            n0 = (n0 + 1) >> 1
            n1 = (n1 + 1) >> 1
        tab[s].n0 = n0
        tab[s].n1 = n1
        if fresh:
            tab[s].pos = t & _POS_MASK
        else:
            tab[s].beta = b
