"""Write the golden .nbt files under tests/golden/, each beside its original.

    python3 scripts/make_golden.py          # writes the files that are missing
    python3 scripts/make_golden.py --force  # rewrites all of them
    python3 scripts/make_golden.py --force ctw-default.txt   # rewrites one

Files go to tests/golden/vN/ for the format version the encoder writes
(framing.VERSION). tests/test_golden.py decodes the files of every version
forever: once a format version is released its golden files must never need
regenerating. If they do, the coded stream changed, and files made by earlier
versions no longer decode: bump framing.VERSION instead (and keep a decoder
for the old one).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nbtzip  # noqa: E402
from nbtzip.framing import VERSION  # noqa: E402
from nbtzip.sample import english_like  # noqa: E402


def _text(n, seed):
    # Mostly English-like ASCII, with some UTF-8 and control bytes so the
    # alphabet map is not just printable characters.
    body = english_like(n, seed=seed)
    return body + "\n\tdéjà vu — naïve façade\r\n".encode() + bytes([0, 1, 127, 255])


def _noise(n):
    # Deterministic incompressible bytes (SHA-256 in counter mode).
    out = b"".join(hashlib.sha256(i.to_bytes(8, "little")).digest() for i in range(n // 32 + 1))
    return out[:n]


def entries():
    """(name, original bytes, configuration)."""
    return [
        # Two blocks, so the model state carried across blocks is pinned too.
        (
            "rnn-kalman-h12.txt",
            _text(66_000, seed=101),
            nbtzip.make_config(model="rnn", hidden_size=12),
        ),
        (
            "rnn-sgd-h8-rank2.txt",
            _text(3_000, seed=102),
            nbtzip.make_config(model="rnn", hidden_size=8, rank=2, algorithm="nbt", seed=7),
        ),
        (
            "rnn-rtrl-h6.txt",
            _text(2_000, seed=103),
            nbtzip.make_config(model="rnn", hidden_size=6, algorithm="rtrl"),
        ),
        ("ctw-default.txt", _text(20_000, seed=104), nbtzip.CTWConfig()),
        # A stored block (incompressible) then a coded one: pins the stored
        # layout and the decoder's model absorbing the stored bytes.
        (
            "rnn-stored-h8.bin",
            _noise(65_536) + _text(2_000, seed=105),
            nbtzip.make_config(model="rnn", hidden_size=8),
        ),
        ("empty", b"", nbtzip.make_config(model="rnn")),
        # The default model: a level's preset, sized to the input in the header.
        ("mix-default.txt", _text(70_000, seed=106), nbtzip.make_config()),
        ("mix-level1.bin", _noise(3_000) + _text(3_000, seed=107), nbtzip.make_config(1)),
        ("mix-empty", b"", nbtzip.make_config()),
        # Version 3: blocks of 256 KiB (two here), the short flush, the span alphabet.
        ("ctw-two-blocks.txt", english_like(270_000, seed=108), nbtzip.CTWConfig(depth=4)),
        ("mix-span.txt", english_like(4_000, seed=109), nbtzip.make_config(1)),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rewrite existing golden files")
    parser.add_argument("names", nargs="*", help="only these originals (default: all)")
    args = parser.parse_args()
    known = [name for name, _, _ in entries()]
    unknown = set(args.names) - set(known)
    if unknown:
        parser.error(
            f"unknown golden file(s) {', '.join(sorted(unknown))}; known: {', '.join(known)}"
        )
    golden = ROOT / "tests" / "golden" / f"v{VERSION}"
    golden.mkdir(parents=True, exist_ok=True)
    for name, data, config in entries():
        if args.names and name not in args.names:
            continue
        original, packed = golden / name, golden / (name + ".nbt")
        if packed.exists() and not args.force:
            print(f"{packed.relative_to(ROOT)}: exists, kept")
            continue
        blob = nbtzip.compress(data, config=config)
        if nbtzip.decompress(blob) != data:
            raise SystemExit(f"{name}: round trip failed, nothing written")
        original.write_bytes(data)
        packed.write_bytes(blob)
        print(f"{packed.relative_to(ROOT)}: {len(data)} -> {len(blob)} bytes")


if __name__ == "__main__":
    main()
