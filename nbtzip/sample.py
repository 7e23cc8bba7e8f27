"""Generated English-like text: a reproducible stand-in for real text in the
tests, the golden files and the speed benchmarks (no corpus needed)."""

import numpy as np


def english_like(n: int, seed: int = 7) -> bytes:
    """Generated text with English-like letter, word and sentence statistics."""
    rng = np.random.default_rng(seed)
    words = (
        "the of and to in is that it was for on are as with his they at be this from "
        "have or by one had not but what all were when we there can an your which their "
        "said if do will each about how up out them then she many some so these would "
        "other into has more her two like him see time could no make than first been its "
        "who now people my made over did down only way find use may water long little "
        "very after words called just where most know network learning gradient online"
    ).split()
    weights = 1.0 / np.arange(1, len(words) + 1)
    weights /= weights.sum()
    parts = []
    size = 0
    while size < n:
        count = int(rng.integers(4, 16))
        sentence = " ".join(words[i] for i in rng.choice(len(words), count, p=weights))
        sentence = sentence[0].upper() + sentence[1:] + ". "
        if rng.random() < 0.15:
            sentence += "\n"
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts).encode("ascii")[:n]
