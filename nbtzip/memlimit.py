"""How much memory a stream's model may take: the decoder's limit, as xz has it.

A stream's header chooses its model, and the model's size follows from the
header alone (config.memory_bytes): a crafted header of 150 bytes inside the
accepted ranges can ask for gigabytes. So every stream is weighed against a
limit before anything is allocated, and the encoder refuses to write what
it could not decode under its own limit.

The limit is, in this order: the one given (--memlimit, memlimit=), the
NBTZIP_MEMLIMIT environment variable, or DEFAULT_PERCENT of physical memory
(never less than DEFAULT_FLOOR, so that every preset decodes on any machine
that runs Python). 0 means no limit. Sizes are written as xz takes them:
"500M", "2GiB", "10%" (of physical memory), or plain bytes; the suffixes
K, M, G, T, with or without "iB" or "B", are all powers of 1024.

This module imports nothing heavy: the command line uses it before numba.
"""

from __future__ import annotations

import math
import os
import re

from .config import ConfigError
from .framing import FormatError

ENV = "NBTZIP_MEMLIMIT"
# A quarter of the machine, as xz's default for its threaded modes: a stream
# that needs more is most likely crafted, and the user can say otherwise.
DEFAULT_PERCENT = 25
# The largest preset (CTW's 2**24-node table and 16 MiB ring, about 152 MiB
# with its block buffers) must decode under the default even on a small box.
DEFAULT_FLOOR = 256 << 20
# When the system does not say how much memory it has: still a bound.
FALLBACK = 4 << 30
_MIB = 1 << 20
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"(\d+(?:\.\d*)?)\s*(?:(%)|([kmgt]?)(?:i?b)?)", re.IGNORECASE)


def physical_memory() -> int | None:
    """Bytes of memory this process may use: the machine's, or less under a cgroup
    (a container's memory.max); None when the system does not say."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        total = None
    try:
        with open("/sys/fs/cgroup/memory.max") as fp:
            capped = int(fp.read().strip())  # "max" (no cap) fails here and is ignored
        total = capped if total is None else min(total, capped)
    except (OSError, ValueError):
        pass
    return total if total and total > 0 else None


def parse(text: str, physical: int | None = None) -> int:
    """Bytes from "500M", "2GiB", "10%", "0" (no limit) or a plain number; ValueError
    with a one-line reason otherwise."""
    match = _SIZE.fullmatch(str(text).strip())
    if match is None:
        raise ValueError(f"{text!r} is not a size (examples: 500M, 2GiB, 10%, 0 for no limit)")
    number, percent, unit = float(match[1]), match[2], (match[3] or "").lower()
    if percent:
        if not 0 < number <= 100:
            raise ValueError(f"{text!r}: a percentage of memory is above 0 and at most 100")
        physical = physical_memory() if physical is None else physical
        if physical is None:
            raise ValueError(f"{text!r}: this system does not tell how much memory it has")
        return max(1, int(physical * number / 100))
    return int(number * _UNITS[unit])


def default_limit(env=None, physical: int | None = None) -> int:
    """The limit when none is given: NBTZIP_MEMLIMIT, else DEFAULT_PERCENT of physical
    memory (at least DEFAULT_FLOOR; FALLBACK when unknown); 0 = none. ValueError
    for a bad variable."""
    env = os.environ if env is None else env
    if env.get(ENV, "").strip():
        try:
            return parse(env[ENV], physical)
        except ValueError as exc:
            raise ValueError(f"{ENV}: {exc}") from None
    physical = physical_memory() if physical is None else physical
    if physical is None:
        return FALLBACK
    return max(DEFAULT_FLOOR, physical * DEFAULT_PERCENT // 100)


def resolve(memlimit) -> int:
    """The limit in bytes (0: none) for an API argument: None means the default."""
    if memlimit is None:
        return default_limit()
    if not isinstance(memlimit, int) or isinstance(memlimit, bool) or memlimit < 0:
        raise ValueError(f"memlimit must be a non-negative integer (bytes), got {memlimit!r}")
    return memlimit


def refusal(needed: int, limit: int, decoding: bool = True) -> str:
    """Why a model is refused, in a line that says how to allow it."""
    what = "the stream needs" if decoding else "the model needs"
    return (
        f"{what} {mib(needed)} of memory to decode, above the limit of {mib(limit)} "
        f"(a memlimit of at least {needed} bytes allows it)"
    )


def mib(n: int) -> str:
    """n bytes as whole MiB rounded up, written so that it can be passed back as a
    limit ("9538MiB") and suffice."""
    return f"{max(1, math.ceil(n / _MIB))}MiB"


# What coding one block takes besides the model, in any codec: the encoder's
# output buffer for 8 coded decisions a byte at 4 bytes each (2 MiB), the
# payload copied out of it (2 MiB), a payload read by the decoder (1 MiB), the
# block as int64 symbols (512 KiB) and as bytes, in and out. 8 MiB bounds it.
BLOCK_MEMORY = 8 << 20


class MemoryLimitError(FormatError, ConfigError):
    """A stream's model needs more memory than the limit allows (a FormatError to
    whoever decodes, a ConfigError to whoever chooses a model to encode with).
    needed, limit: bytes; decoding: raised by a decoder, else by an encoder."""

    def __init__(self, needed: int, limit: int, decoding: bool = True):
        self.needed, self.limit, self.decoding = needed, limit, decoding
        super().__init__(refusal(needed, limit, decoding))

    def __reduce__(self):  # the arguments, not the message, so that workers can send it
        return type(self), (self.needed, self.limit, self.decoding)


def stream_memory(config, alphabet_size: int) -> int:
    """Bytes a stream of this model over alphabet_size symbols needs to be coded or
    decoded: its model's state (each configuration knows its own) and one block
    in flight. The Python process itself comes on top."""
    return config.memory_bytes(alphabet_size) + BLOCK_MEMORY
