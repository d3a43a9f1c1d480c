"""The workspace lock with real processes: a second run is refused (exit 2) while the first
lives, a SIGKILLed holder's lock is taken over, a lock is released on exceptions, and
processes racing for a stale lock never both get it."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from crmtool import lock as lock_module
from crmtool.errors import WorkspaceError
from crmtool.lock import locked_workspace, lock_path, workspace_lock

# A crmtool with one more command that holds the lock: run through crmtool.cli.main, so the
# exit code and the one-line error are the ones every command gives.
SCRIPT = """
import sys, time
from pathlib import Path
from crmtool.cli import app, main
from crmtool.lock import workspace_lock

@app.command("hold")
def hold(db: str, seconds: float = 0.0, go: str = "", log: str = ""):
    if go:
        while not Path(go).exists():
            time.sleep(0.01)
    with workspace_lock(db, "hold"):
        print("locked", flush=True)
        if log:
            with open(log, "a") as f:
                f.write(f"enter {time.monotonic()}\\n")
        time.sleep(seconds)
        if log:
            with open(log, "a") as f:
                f.write(f"exit {time.monotonic()}\\n")

sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture
def crmtool_hold(tmp_path):
    script = tmp_path / "hold.py"
    script.write_text(SCRIPT, encoding="utf-8")
    started: list[subprocess.Popen] = []

    def start(db: Path, *args: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, str(script), "hold", str(db), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def holding(proc: subprocess.Popen) -> subprocess.Popen:
    """Wait until the process says it holds the lock."""
    line = proc.stdout.readline()
    assert line.strip() == "locked", (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc


def write_lock(db: Path, **fields) -> Path:
    data = {"pid": 999_999_999, "host": socket.gethostname(), "user": "cron", "command": "run",
            "started_at": datetime.now().astimezone().isoformat(timespec="seconds"), **fields}
    path = lock_path(db)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_second_run_is_refused_with_exit_2_while_the_first_lives(tmp_path, crmtool_hold):
    db = tmp_path / "crm.duckdb"
    first = holding(crmtool_hold(db, "--seconds", "60"))
    holder = json.loads(lock_path(db).read_text(encoding="utf-8"))
    assert holder["pid"] == first.pid and holder["command"] == "hold" and holder["host"] == socket.gethostname()
    assert set(holder) == {"pid", "host", "user", "command", "started_at"}

    second = crmtool_hold(db)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 2, err
    started = holder["started_at"].replace("T", " ")[:19]
    assert f"{db} is locked by run pid {first.pid} ({holder['user']}, hold, started {started}); " \
           "it is still running" in err
    assert err.startswith("error:") and "Traceback" not in err and "locked" not in out
    with pytest.raises(WorkspaceError, match=f"locked by run pid {first.pid}") as info:  # in-process too
        with workspace_lock(db, "merge"):
            pass
    assert info.value.exit_code == 2
    assert first.poll() is None and json.loads(lock_path(db).read_text(encoding="utf-8"))["pid"] == first.pid


def test_sigkilled_holder_leaves_a_stale_lock_that_is_taken_over(tmp_path, crmtool_hold, capsys):
    db = tmp_path / "crm.duckdb"
    victim = holding(crmtool_hold(db, "--seconds", "60"))
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    assert lock_path(db).exists()  # no chance to clean up
    with workspace_lock(db, "run"):
        assert json.loads(lock_path(db).read_text(encoding="utf-8"))["pid"] == os.getpid()
    assert not lock_path(db).exists()
    err = capsys.readouterr().err
    assert f"taking over the stale lock of run pid {victim.pid}" in err and "that process is gone" in err
    # and a new run in another process is not bothered by it
    after = crmtool_hold(db)
    assert after.communicate(timeout=60)[0].strip() == "locked" and after.returncode == 0


def test_released_on_normal_exit_and_on_exception(tmp_path):
    db = tmp_path / "crm.duckdb"
    with workspace_lock(db, "merge") as path:
        assert path == tmp_path / "crm.duckdb.lock" and path.exists()
    assert not path.exists()
    with pytest.raises(ZeroDivisionError):
        with workspace_lock(db, "merge"):
            1 / 0
    assert not path.exists()
    with pytest.raises(KeyboardInterrupt):
        with workspace_lock(db, "merge"):
            raise KeyboardInterrupt
    assert not path.exists()
    with workspace_lock(db, "push"):  # and it can be taken again
        pass


def test_reentrant_within_one_process(tmp_path):
    db = tmp_path / "crm.duckdb"
    with workspace_lock(db, "run"):
        with workspace_lock(db, "merge"):
            assert json.loads(lock_path(db).read_text(encoding="utf-8"))["command"] == "run"
        assert lock_path(db).exists()  # the outer holder still has it
    assert not lock_path(db).exists()


def test_a_reused_pid_does_not_keep_a_dead_runs_lock(tmp_path, capsys):
    """After a crash the dead run's pid may belong to another process: the free flock says the
    holder is gone."""
    db = tmp_path / "crm.duckdb"
    write_lock(db, pid=os.getppid())  # alive, and not a crmtool holding the lock
    with workspace_lock(db, "run"):
        pass
    assert "another process reused the pid" in capsys.readouterr().err


def test_without_flock_the_pid_decides(tmp_path, monkeypatch, capsys):
    def no_flock(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(lock_module.fcntl, "flock", no_flock)
    db = tmp_path / "crm.duckdb"
    write_lock(db, pid=os.getppid(), command="push")
    with pytest.raises(WorkspaceError, match=rf"locked by run pid {os.getppid()} \(cron, push, started .*\); "
                                             "it is still running"):
        with workspace_lock(db, "run"):
            pass
    write_lock(db, pid=999_999_999)
    with workspace_lock(db, "run"):
        pass
    assert "that process is gone" in capsys.readouterr().err


def test_a_lock_from_another_host_counts_until_max_age(tmp_path, capsys):
    db = tmp_path / "crm.duckdb"
    path = write_lock(db, host="backup-server", pid=4242)
    with pytest.raises(WorkspaceError) as info:
        with workspace_lock(db, "run", max_age=timedelta(hours=6)):
            pass
    message = str(info.value)
    assert "locked by run pid 4242 on host backup-server" in message and "this host cannot check" in message
    assert "6.0 h" in message and f"remove {path}" in message
    two_days_ago = (datetime.now().astimezone() - timedelta(days=2)).isoformat(timespec="seconds")
    write_lock(db, host="backup-server", pid=4242, started_at=two_days_ago)
    with workspace_lock(db, "run", max_age=timedelta(hours=6)):
        pass
    assert "it was taken on host backup-server 2 days ago" in capsys.readouterr().err


def test_an_unreadable_lock_file_is_waited_for_then_taken_over(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(lock_module, "SETTLE_SECONDS", 0.3)
    db = tmp_path / "crm.duckdb"
    lock_path(db).write_text("", encoding="utf-8")  # a holder killed between create and write
    started = time.monotonic()
    with workspace_lock(db, "run"):
        pass
    assert time.monotonic() - started >= 0.25  # a fresh empty file may be one being written
    assert "its lock file is unreadable" in capsys.readouterr().err


def test_processes_racing_for_a_stale_lock_never_overlap(tmp_path, crmtool_hold):
    db = tmp_path / "crm.duckdb"
    write_lock(db, pid=999_999_999)
    go, log = tmp_path / "go", tmp_path / "log.txt"
    racers = [crmtool_hold(db, "--seconds", "1.5", "--go", str(go), "--log", str(log)) for _ in range(3)]
    time.sleep(1.5)  # let them all start up and wait at the line
    go.touch()
    results = [(proc.communicate(timeout=60), proc.returncode) for proc in racers]
    winners = [r for r in results if r[1] == 0]
    assert len(winners) >= 1 and all(code in (0, 2) for _, code in results), results
    for (out, err), code in results:
        assert ("locked" in out) == (code == 0)
        if code == 2:
            # the holder named, or — caught between creating the file and writing it — not yet
            assert "is locked by run pid" in err or "is locked by another crmtool run" in err
    events = [line.split() for line in log.read_text().splitlines()]
    held = 0
    for kind, _ in sorted(events, key=lambda e: float(e[1])):
        held += 1 if kind == "enter" else -1
        assert held <= 1, events  # never two holders at once
    assert not lock_path(db).exists()


def test_locked_workspace_helper(tmp_path):
    db = tmp_path / "crm.duckdb"
    with pytest.raises(WorkspaceError, match="no workspace here"):
        with locked_workspace(db, "merge", create=False):
            pass
    assert not lock_path(db).exists()
    with locked_workspace(db, "load") as ws:
        assert lock_path(db).exists() and ws.scalar("SELECT count(*) FROM runs") == 0
    assert not lock_path(db).exists() and db.exists()


def test_flock_is_held_by_the_holder(tmp_path):
    """The flock is what survives nothing: another open file description cannot take it."""
    db = tmp_path / "crm.duckdb"
    with workspace_lock(db, "run") as path:
        fd = os.open(path, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
