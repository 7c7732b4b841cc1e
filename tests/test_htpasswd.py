"""htpasswd content: hashes Apache and OpenShift accept, parsing as the OAuth server does, byte-exact edits."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import htpasswd


def test_entry_is_bcrypt_2y_at_the_requested_cost():
    entry = htpasswd.make_entry("alice", "velvet otter marmalade", 10)
    assert entry.startswith(b"alice:$2y$10$")
    assert b"\n" not in entry and entry.count(b":") == 1


@pytest.mark.skipif(shutil.which("htpasswd") is None, reason="needs apache2-utils (make test installs it)")
@pytest.mark.parametrize("password", ["velvet otter marmalade", "ünïcödé pässwörd", "colon:and space", "x" * 72])
def test_apache_htpasswd_verifies_our_entries(tmp_path, password):
    path = tmp_path / "htpasswd"
    path.write_bytes(htpasswd.make_entry("alice", password, 10) + b"\n")
    ok = subprocess.run(["htpasswd", "-vb", str(path), "alice", password], capture_output=True)
    wrong = subprocess.run(["htpasswd", "-vb", str(path), "alice", "!" + password[1:]], capture_output=True)
    assert ok.returncode == 0, ok.stderr
    assert wrong.returncode != 0


@pytest.mark.skipif(shutil.which("htpasswd") is None, reason="needs apache2-utils (make test installs it)")
def test_bcrypt_ignores_bytes_past_72_which_is_why_the_rules_refuse_them(tmp_path):
    path = tmp_path / "htpasswd"
    path.write_bytes(htpasswd.make_entry("alice", "x" * 72, 4) + b"\n")
    longer = subprocess.run(["htpasswd", "-vb", str(path), "alice", "x" * 72 + "anything"], capture_output=True)
    assert longer.returncode == 0  # a silently truncated password would accept this


def test_we_verify_entries_made_by_apache_htpasswd(tmp_path):
    if shutil.which("htpasswd") is None:
        pytest.skip("needs apache2-utils (make test installs it)")
    line = subprocess.run(["htpasswd", "-nbB", "bob", "apache made this"], capture_output=True, check=True).stdout
    entry = line.strip()
    assert htpasswd.verify(entry, "apache made this")
    assert not htpasswd.verify(entry, "apache made that")


def test_verify_never_matches_other_schemes_or_junk():
    assert not htpasswd.verify(b"bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "password")
    assert not htpasswd.verify(b"bob", "x")
    assert not htpasswd.verify(b"bob:$2y$10$short", "x")


def test_entries_follow_the_oauth_server():
    content = (
        b"# a comment has no colon\n"
        b"alice:$2y$10$first\n"
        b"\n"
        b"malformed line\n"
        b"Bob:{SHA}abc\r\n"
        b":no-name\n"
        b"alice:$2y$10$second\n"
        b"carol:$apr1$x:with:colons"
    )
    found = htpasswd.entries(content)
    assert found == {
        "alice": b"alice:$2y$10$second",  # the last line for a name wins
        "bob": b"Bob:{SHA}abc",  # CR dropped, name compared case-folded
        "carol": b"carol:$apr1$x:with:colons",  # split at the first colon only
    }


def test_append_keeps_every_existing_byte():
    foreign = b"# managed by hand\nadmin:{SHA}xyz\r\nodd line"
    result = htpasswd.append(foreign, [b"alice:$2y$x", b"bob:$2y$y"])
    assert result == foreign + b"\nalice:$2y$x\nbob:$2y$y\n"
    assert htpasswd.append(foreign, []) == foreign
    assert htpasswd.append(b"", [b"a:1"]) == b"a:1\n"


def test_remove_and_replace_touch_only_one_user():
    content = b"# note\nalice:old\nbob:keep\r\nALICE:other\nalice:dup\nodd line\n"
    assert htpasswd.remove(content, "alice") == b"# note\nbob:keep\r\nALICE:other\nodd line\n"
    assert htpasswd.replace(content, "alice", b"alice:new") == \
        b"# note\nalice:new\nbob:keep\r\nALICE:other\nodd line\n"
    assert htpasswd.replace(b"bob:keep\n", "carol", b"carol:new") == b"bob:keep\ncarol:new\n"


lines = st.binary(max_size=40).filter(lambda b: b"\n" not in b)


@given(existing=st.lists(lines, max_size=8), usernames=st.lists(st.from_regex(r"[a-z0-9]{3,12}", fullmatch=True),
                                                                 max_size=5, unique=True))
def test_append_adds_exactly_one_line_per_entry(existing, usernames):
    content = b"\n".join(existing)
    new = [f"{u}:$2y$04$hash".encode() for u in usernames]
    result = htpasswd.append(content, new)
    assert result.startswith(content)
    tail = result[len(content):].lstrip(b"\n") if content and not content.endswith(b"\n") else result[len(content):]
    assert tail.split(b"\n")[:-1] == new
    for username, entry in zip(usernames, new, strict=True):
        assert htpasswd.entries(result)[username] == entry


def test_a_foreign_line_is_matched_exactly_as_the_oauth_server_does():
    content = b"Alice:$apr1$hand-made\nalice:$2y$04$ours\n"
    assert htpasswd.remove(content, "alice") == b"Alice:$apr1$hand-made\n"  # another user for OpenShift
    assert htpasswd.replace(content, "alice", b"alice:new") == b"Alice:$apr1$hand-made\nalice:new\n"
    assert htpasswd.line_of(content, "alice") == b"alice:$2y$04$ours" and htpasswd.line_of(content, "ALICE") is None
    assert "alice" in htpasswd.entries(b"Alice:x\n")  # but a name that alike is still taken for newcomers


def test_a_decoy_line_is_well_formed_at_its_cost_and_matches_no_password():
    import warnings

    from passlib.hash import bcrypt

    line = htpasswd.decoy(4)
    name, _, hashed = line.decode().partition(":")
    assert name == "decoy" and hashed.startswith("$2y$04$") and len(hashed) == 60
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no salt or padding passlib would have to correct
        assert bcrypt.identify(hashed) and not bcrypt.verify("anything at all", hashed)
    assert not htpasswd.verify(line, "") and htpasswd.decoy(4) != line  # fresh randomness each time
