"""python -m nbtzip: the same as the nbtzip command."""

from .cli import main

main(prog_name="nbtzip")
