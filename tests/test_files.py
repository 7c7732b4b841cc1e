"""The data files: compare-and-swap, atomic replacement, and what a crash leaves behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import files
from app.errors import Conflict
from app.files import FileDocument


def document(tmp_path, name="htpasswd") -> FileDocument:
    return FileDocument(tmp_path / name, files.lock_for(tmp_path))


def test_missing_file_reads_empty_and_first_write_creates_it(tmp_path):
    doc = document(tmp_path)
    first = doc.read()
    assert first.content == b"" and first.written_at is None
    doc.write(first, b"alice:x\n")
    assert (tmp_path / "htpasswd").read_bytes() == b"alice:x\n"
    assert doc.read().written_at is not None


def test_a_stale_write_is_a_conflict_and_changes_nothing(tmp_path):
    one, two = document(tmp_path), document(tmp_path)
    base = one.read()
    two.write(two.read(), b"bob:y\n")
    with pytest.raises(Conflict):
        one.write(base, b"alice:x\n")
    assert (tmp_path / "htpasswd").read_bytes() == b"bob:y\n"


@settings(max_examples=50, deadline=None)
@given(contents=st.lists(st.binary(max_size=2000), min_size=1, max_size=5))
def test_whatever_is_written_reads_back_exactly(tmp_path_factory, contents):
    folder = tmp_path_factory.mktemp("doc")
    doc = document(folder)
    for content in contents:
        doc.write(doc.read(), content)
        assert doc.read().content == content
    assert not list(folder.glob(".*.tmp"))


def test_written_files_are_not_world_readable(tmp_path):
    doc = document(tmp_path)
    doc.write(doc.read(), b"alice:x\n")
    assert (tmp_path / "htpasswd").stat().st_mode & 0o007 == 0


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from app import files
    path = Path(sys.argv[1])
    lock = files.lock_for(path.parent)
    versions = [b"A" * 400_000 + b"\\n", b"B" * 800_000 + b"\\n"]
    n = 0
    print("ready", flush=True)
    while True:
        with lock:
            files.write_atomic(path, versions[n % 2])
        n += 1
    """
)


def test_a_writer_killed_mid_write_leaves_the_old_or_the_new_file(tmp_path):
    path = tmp_path / "users.csv"
    path.write_bytes(b"A" * 400_000 + b"\n")
    valid = {b"A" * 400_000 + b"\n", b"B" * 800_000 + b"\n"}
    rng = random.Random(7)
    for _ in range(15):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE,
                                  cwd=os.getcwd())
        assert writer.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.001, 0.05))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        assert path.read_bytes() in valid
    (tmp_path / ".users.csv.torn.tmp").write_bytes(b"B" * 1000)  # what a killed writer can leave
    left = len(list(tmp_path.glob(".*.tmp")))
    assert files.remove_stale_temporaries(tmp_path, files.lock_for(tmp_path)) == left >= 1
    assert not list(tmp_path.glob(".*.tmp")) and path.read_bytes() in valid


def test_is_writable_names_the_problem(tmp_path):
    assert files.is_writable(tmp_path) is None
    blocked = tmp_path / "file"
    blocked.write_text("x")
    assert "not writable" in files.is_writable(blocked / "sub")


def test_a_notice_is_said_once_per_pod_whichever_worker_notices_first(tmp_path):
    workers = [files.Notices(tmp_path), files.Notices(tmp_path)]  # two worker processes of one pod
    assert workers[0].change("oauth", "seen", usual="seen") is None  # the usual state: nothing to say
    assert not list(files.runtime_dir(tmp_path).glob("notice-*"))
    assert workers[0].change("oauth", "unseen: 403", usual="seen") == "seen"
    assert workers[1].change("oauth", "unseen: 403", usual="seen") is None  # already said
    assert workers[1].change("oauth", "seen", usual="seen") == "unseen: 403"  # the recovery, said once
    assert workers[0].change("oauth", "seen", usual="seen") is None
