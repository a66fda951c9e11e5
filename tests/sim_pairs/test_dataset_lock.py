"""sim_pairs.dataset_lock: one writer per dataset directory, stale locks of killed runs taken over."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from sim_pairs.dataset_lock import LOCK_NAME, DatasetLocked, dataset_lock

HOLD = textwrap.dedent("""
    import sys, time
    from sim_pairs.dataset_lock import dataset_lock
    with dataset_lock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(600)
""")


def _holder(directory):
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(directory)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_second_writer_is_told_who_holds_the_directory(tmp_path):
    holder = _holder(tmp_path / "data")
    try:
        with pytest.raises(DatasetLocked) as err:
            with dataset_lock(tmp_path / "data"):
                pass
        assert f"pid {holder.pid}" in str(err.value) and str(tmp_path / "data" / LOCK_NAME) in str(err.value)
    finally:
        holder.terminate()
        holder.wait()


def test_the_lock_of_a_killed_run_is_stale_and_taken_over(tmp_path, caplog):
    holder = _holder(tmp_path / "data")
    os.kill(holder.pid, signal.SIGKILL)  # no cleanup: the lock file stays, the kernel drops the flock
    holder.wait()
    assert (tmp_path / "data" / LOCK_NAME).is_file()
    with dataset_lock(tmp_path / "data") as path:
        assert f'"pid": {os.getpid()}' in path.read_text()
    assert "stale lock" in caplog.text and str(holder.pid) in caplog.text
    assert not (tmp_path / "data" / LOCK_NAME).exists()  # released: removed


def test_the_lock_is_released_after_an_error(tmp_path):
    with pytest.raises(RuntimeError):
        with dataset_lock(tmp_path / "data"):
            raise RuntimeError("boom")
    with dataset_lock(tmp_path / "data"):
        pass
