"""The paper's character RNN as a model of the coding loops (a symbol model).

The state is step.Net; the loops call step.predict and step.learn, the very
functions online_losses() runs, so the compressor learns exactly what the
benchmarks measure.
"""

from ..alphabet import Alphabet
from ..coding.codec import Model
from . import step


def new_model(config, alphabet: Alphabet) -> Model:
    net = step.new_net(config, alphabet.size)
    return Model(net, probs=net.p[: alphabet.size])


def code_lengths(data, config):
    """Ideal per-byte code length in bits (-log2 p) of the RNN learning online over data."""
    alphabet = Alphabet.of(data)
    return step.online_losses(alphabet.symbols(data), alphabet.size, config)
