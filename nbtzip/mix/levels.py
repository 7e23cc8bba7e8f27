"""Presets -1 .. -9 of the mixing model (speed against ratio).

Every level keeps the NoBackTrack-Kalman RNN in the mix; the lower levels use
fewer hidden units, a shallower CTW and fewer direct-connection orders. The
table sizes here are caps: MixConfig.sized() lowers them to the input.
"""

import dataclasses

from ..config import ConfigError, MixConfig

MIX_LEVELS = {
    1: dict(hidden_size=4, me_order=3, me_word=0, ctw_depth=4, me_row_bits=14),
    2: dict(hidden_size=8, me_order=4, me_word=0, ctw_depth=6, me_row_bits=14),
    3: dict(hidden_size=8, me_order=4, me_word=1, ctw_depth=8, me_row_bits=15),
    4: dict(hidden_size=12, me_order=5, me_word=1, ctw_depth=8),
    5: dict(hidden_size=16, me_order=6, me_word=1, ctw_depth=10),
    6: dict(hidden_size=16, me_order=6, me_word=1, ctw_depth=10),
    7: dict(hidden_size=32, me_order=6, me_word=1, ctw_depth=12),
    8: dict(hidden_size=64, me_order=7, me_word=1, ctw_depth=12),
    9: dict(hidden_size=100, me_order=8, me_word=1, ctw_depth=16),
}
MIX_DEFAULT_LEVEL = 6


def mix_preset(level=None, **overrides) -> MixConfig:
    """The configuration of `level` (None: the default), before sizing to the input."""
    if level is None:
        level = MIX_DEFAULT_LEVEL
    if level not in MIX_LEVELS:
        raise ConfigError(f"level must be 1..9, got {level!r}")
    config = MixConfig(**MIX_LEVELS[level])
    return dataclasses.replace(config, **overrides) if overrides else config
