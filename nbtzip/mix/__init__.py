"""Binary context mixing with the NoBackTrack RNN inside (RNN-ME + CTW + match, mixed).

The seam for the coding loops (all jitted, see model.py):
    state = new_state(config, alphabet_flags)
    begin(state); p1 = predict_bit(state, k); learn_bit(state, k, bit); end(state, byte)
"""

from .model import begin, end, learn_bit, predict_bit
from .state import new_state

__all__ = ["new_state", "begin", "predict_bit", "learn_bit", "end"]
