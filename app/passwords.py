"""Passwords the app makes (a reset, a seat): easy to read aloud and type, strong enough for a login.

No 0/o, 1/l/i: 31 symbols, four groups of four (16 symbols, about 79 bits), e.g. 'k7tq-2mzx-…'.
"""

from __future__ import annotations

import secrets

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
GROUPS, GROUP_SIZE = 4, 4


def generate() -> str:
    """A new random password."""
    return spell(secrets.randbits(256))


def spell(number: int) -> str:
    """A password from a number of at least 80 random bits (a hash, random bits): its base-31 digits."""
    symbols = []
    for _ in range(GROUPS * GROUP_SIZE):
        number, digit = divmod(number, len(ALPHABET))
        symbols.append(ALPHABET[digit])
    return "-".join("".join(symbols[i:i + GROUP_SIZE]) for i in range(0, len(symbols), GROUP_SIZE))
