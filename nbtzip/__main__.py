"""python -m nbtzip: the same as the nbtzip command."""

from .cli.main import run

run()
