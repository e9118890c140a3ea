"""argparse value types shared by the commands: a bad value is refused by the parser, with the flag named.

`--batch 0` used to mean "the default" and `--timeout 0` a bake that could never run; a count or a limit
that must be positive now says so at once (exit 2, like every other usage error).
"""
from __future__ import annotations

import argparse
import math
from typing import Callable


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An integer type refusing values below `minimum`."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value
