"""Which block codec serves which model configuration.

A block codec turns blocks of bytes into range-coded payloads and back. Its
model state (network weights, learner, PRNG, context tree) carries from one
block to the next, so blocks must be coded and decoded in the same order.

    codec = make_codec(config, alphabet)   # alphabet: numpy bool[256], bytes present
    payload = codec.encode_block(data)      # bytes -> bytes
    data = codec.decode_block(payload, n)   # exactly n bytes back
    codec.absorb_block(data)                # learn from data as encode_block would,
                                            # without coding (blocks stored raw)

decode_block never reads outside `payload` and always returns n bytes: corrupt
data gives wrong bytes (caught by the container's checksum), never a crash.
"""

from .config import CTWConfig, RNNConfig


def make_codec(config, alphabet):
    if isinstance(config, RNNConfig):
        from .engine import RNNCodec

        return RNNCodec(config, alphabet)
    if isinstance(config, CTWConfig):
        from .ctw import CTWCodec

        return CTWCodec(config, alphabet)
    raise TypeError(f"no codec for {type(config).__name__}")
