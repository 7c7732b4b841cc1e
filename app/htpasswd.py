"""htpasswd content as OpenShift's OAuth server reads it: pure functions on bytes.

The file is shared with people and other tools, so it is never re-serialised: lines this app did not
add are kept byte for byte, in order, and new entries are appended. Parsing follows the OAuth server:
a line is split at its first `:`, lines without one are skipped, the last line for a name wins.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Mapping
from types import MappingProxyType

from passlib.hash import bcrypt

# OpenShift accepts $2y$ and $2a$ but rejects $2b$, the bcrypt package's default.
BCRYPT_IDENT = "2y"
BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"  # its base64


def make_entry(username: str, password: str, rounds: int) -> bytes:
    """One htpasswd line (without newline) holding a bcrypt $2y$ hash of the password."""
    hashed = bcrypt.using(rounds=rounds, ident=BCRYPT_IDENT).hash(password)
    return f"{username}:{hashed}".encode("ascii")


def decoy(rounds: int) -> bytes:
    """A well-formed bcrypt line of this cost that no password matches (a random salt and checksum, made
    without hashing): checking a password against it costs what checking a real line does."""
    def base64(size: int) -> str:  # bcrypt's alphabet; the last character carries no padding bits
        return "".join(secrets.choice(BCRYPT_ALPHABET) for _ in range(size - 1)) + secrets.choice(".Oeu")
    return f"decoy:${BCRYPT_IDENT}${rounds:02d}${base64(22)}{base64(31)}".encode("ascii")


def verify(entry: bytes, password: str) -> bool:
    """True when the password matches the entry's hash (a bcrypt entry; other schemes never match)."""
    _, _, hashed = entry.partition(b":")
    try:
        return bcrypt.verify(password, hashed.decode("ascii"))
    except (ValueError, TypeError, UnicodeDecodeError):
        return False


def _name(line: bytes) -> str | None:
    """A line's user name, exactly as the OAuth server reads it; None for a line it skips."""
    name, colon, _ = line.removesuffix(b"\r").partition(b":")
    return name.decode("utf-8", "surrogateescape") if colon and name else None


@functools.lru_cache(maxsize=8)
def entries(content: bytes) -> Mapping[str, bytes]:
    """Map each user name, case-folded, to its effective line: for deciding whether a name is taken, where
    `Alice` and `alice` are too alike to hand out both (the OAuth server itself tells them apart).

    Read-only, and cached for the last few contents: the same logins are asked about many times (10,000
    lines take tens of milliseconds), and bytes keep their hash once computed.
    """
    found: dict[str, bytes] = {}
    for line in content.split(b"\n"):
        name = _name(line)
        if name is not None:
            found[name.casefold()] = line.removesuffix(b"\r")
    return MappingProxyType(found)


def names(content: bytes) -> list[str]:
    """The exact user name of every line the OAuth server reads, in order (one per line)."""
    return [name for name in map(_name, content.split(b"\n")) if name is not None]


def line_of(content: bytes, username: str) -> bytes | None:
    """The effective line of exactly this user name (the last one, as the OAuth server reads it), or None."""
    found = None
    for line in content.split(b"\n"):
        if _name(line) == username:
            found = line.removesuffix(b"\r")
    return found


def append(content: bytes, new_entries: list[bytes]) -> bytes:
    """The content with the entries added at the end, every existing byte kept."""
    if not new_entries:
        return content
    if content and not content.endswith(b"\n"):
        content += b"\n"
    return content + b"".join(entry + b"\n" for entry in new_entries)


def remove(content: bytes, username: str) -> bytes:
    """The content without the lines of exactly this user name; every other line kept byte for byte (a
    hand-added `Alice:` is another user than our `alice`, for the OAuth server as here)."""
    return without(content, {username})


def without(content: bytes, usernames: set[str]) -> bytes:
    """The content without the lines of exactly these user names (one pass), every other byte kept."""
    return b"\n".join(line for line in content.split(b"\n") if _name(line) not in usernames)


def replace(content: bytes, username: str, entry: bytes) -> bytes:
    """The content with exactly this user's line(s) replaced by `entry` in place of the first one."""
    lines, done = [], False
    for line in content.split(b"\n"):
        if _name(line) == username:
            if not done:
                lines.append(entry)
                done = True
            continue
        lines.append(line)
    return b"\n".join(lines) if done else append(content, [entry])
