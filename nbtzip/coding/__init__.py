"""Range coder, frequency tables, the coding loops and the block codec (one of each)."""
