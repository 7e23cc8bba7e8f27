"""The model registry: which model module serves which configuration class.

A model module provides new_model(config, alphabet) -> coding.codec.Model and
registers its state with coding.loops; everything else (the coding loops, the
block codec, the container) is shared. Adding a model is one new module and
one line in MODELS below.
"""

import importlib

from .alphabet import Alphabet
from .coding.codec import BlockCodec
from .config import CTWConfig, RNNConfig

# configuration class -> the module (under nbtzip) that builds its model
MODELS = {
    RNNConfig: "rnn.model",
    CTWConfig: "ctw.model",
}


def model_module(config):
    try:
        name = MODELS[type(config)]
    except KeyError:
        raise TypeError(f"no model for {type(config).__name__}") from None
    return importlib.import_module(f"{__package__}.{name}")


def make_codec(config, alphabet) -> BlockCodec:
    """A block codec (coding/codec.py) for a configuration and an alphabet (bool[256])."""
    alphabet = alphabet if isinstance(alphabet, Alphabet) else Alphabet(alphabet)
    return BlockCodec(model_module(config).new_model(config, alphabet), alphabet)


def code_lengths(data, config, alphabet=None):
    """-log2 P of each byte of data (unquantised) under the model learning online,
    as the codec learns (alphabet: bool[256], default the bytes present)."""
    alphabet = Alphabet.of(data) if alphabet is None else alphabet
    return make_codec(config, alphabet).code_lengths(data)
