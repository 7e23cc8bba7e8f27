"""nbtzip."""
