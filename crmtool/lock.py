"""The workspace lock: two runs that change one workspace never overlap.

DuckDB already refuses a second writer while a file is open, but a command opens
the workspace more than once and works between (a push waits on the network), and
its refusal does not say who holds it. The lock covers the whole command and names
the holder.

`<db>.lock` is created with O_CREAT|O_EXCL (exactly one process can create it)
and holds JSON {pid, host, user, command, started_at}. The holder also keeps an
flock(2) on it: the kernel drops that lock when the process dies however it dies
(SIGKILL, OOM killer, power loss), so a lock file whose flock is free on this host
is stale for certain, even when its pid has been reused by another process. Where
flock is not supported, a holder on this host counts as alive while its pid is.
A lock taken on another host (a shared folder) that this host cannot check is
stale once older than `max_age`. A stale lock is reported and taken over.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

from crmtool import console
from crmtool.errors import WorkspaceError

DEFAULT_MAX_AGE = timedelta(hours=12)
SETTLE_SECONDS = 2.0  # how long a half-written lock file or a takeover under way is waited for
_POLL = 0.05

# locks this process holds: lock path → (pid, depth), so a command that calls another
# command's code under the same lock does not lock itself out
_held: dict[str, tuple[int, int]] = {}


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as its lock file says."""

    pid: int | None
    host: str
    user: str
    command: str
    started_at: str

    @classmethod
    def from_text(cls, text: str) -> "Holder | None":
        try:
            data = json.loads(text)
            return cls(int(data["pid"]), str(data.get("host", "")), str(data.get("user", "?")),
                       str(data.get("command", "?")), str(data.get("started_at", "")))
        except (ValueError, TypeError, KeyError):
            return None

    def describe(self) -> str:
        started = self.started_at.replace("T", " ")[:19] or "at an unknown time"
        return f"{self.user}, {self.command}, started {started}"

    def age(self) -> timedelta | None:
        try:
            started = datetime.fromisoformat(self.started_at)
        except ValueError:
            return None
        now = datetime.now(started.tzinfo) if started.tzinfo else datetime.now()
        return now - started


def lock_path(db_path: str | os.PathLike) -> Path:
    """The lock file of a workspace: `<db>.lock` beside it."""
    return Path(f"{os.fspath(db_path)}.lock")


@contextmanager
def workspace_lock(db_path: str | os.PathLike, command: str, *,
                   max_age: timedelta = DEFAULT_MAX_AGE) -> Iterator[Path]:
    """Hold `<db>.lock` for the duration; a WorkspaceError (exit 2) naming the holder when
    another live run has it. Released on exit, on exceptions and (the flock) when killed.
    Re-entrant within one process."""
    path = lock_path(db_path)
    key = str(path.resolve())
    pid, depth = _held.get(key, (0, 0))
    if pid == os.getpid():
        _held[key] = (pid, depth + 1)
        try:
            yield path
        finally:
            _held[key] = (pid, depth)
        return
    fd = _acquire(path, Path(db_path), command, max_age)
    _held[key] = (os.getpid(), 1)
    try:
        yield path
    finally:
        _held.pop(key, None)
        _release(fd, path)


@contextmanager
def locked_workspace(db_path: str | os.PathLike, command: str, *, create: bool = True,
                     max_age: timedelta = DEFAULT_MAX_AGE):
    """`Workspace.open` under the workspace lock, for commands that change the workspace:
    `with locked_workspace(db, "merge", create=False) as ws, journaled(ws, "merge", args) as counts:`."""
    from crmtool.workspace import Workspace

    if not create and not Path(db_path).exists():  # no lock file beside a workspace that is not there
        raise WorkspaceError(f"{db_path}: no workspace here; run `crmtool load` first or pass --db")
    with workspace_lock(db_path, command, max_age=max_age), Workspace.open(db_path, create=create) as ws:
        yield ws


# --- taking and giving back ----------------------------------------------------------------------


def _acquire(path: Path, db: Path, command: str, max_age: timedelta) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    while True:
        waited = time.monotonic() - start
        if waited > 5 * SETTLE_SECONDS:  # the file keeps changing under us: say so rather than spin
            raise WorkspaceError(f"{path}: could not take the workspace lock in {waited:.0f} s; "
                                 "another crmtool keeps taking it")
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
        except FileExistsError:
            if not _inspect(path, db, max_age, waited_enough=waited > SETTLE_SECONDS):
                time.sleep(_POLL)  # being written or taken over: give it a moment
            continue
        try:
            if _flock(fd, wait=SETTLE_SECONDS) is False or not _same_file(fd, path):
                _release(fd, path)  # someone took the path over in between: look again
                continue
            os.write(fd, json.dumps(_me(command), ensure_ascii=False).encode("utf-8"))
            os.fsync(fd)
            return fd
        except BaseException:
            _release(fd, path)
            raise


def _release(fd: int, path: Path) -> None:
    """Remove the lock file (only if it is still ours), then let go of the flock."""
    try:
        if _same_file(fd, path):
            os.unlink(path)
    except OSError:
        pass
    finally:
        os.close(fd)


def _me(command: str) -> dict:
    from crmtool.workspace import current_user

    return {"pid": os.getpid(), "host": socket.gethostname(), "user": current_user(), "command": command,
            "started_at": datetime.now().astimezone().isoformat(timespec="seconds")}


# --- looking at someone else's lock --------------------------------------------------------------


def _inspect(path: Path, db: Path, max_age: timedelta, waited_enough: bool) -> bool:
    """Raise if the lock's holder is alive. Otherwise return whether the path is free now
    (it disappeared, or was stale and is removed) or False to look again in a moment (it is
    being written, or another run is taking it over)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return True
    try:
        state = _flock(fd, wait=0)
        if not _same_file(fd, path):
            return True
        holder = Holder.from_text(_read_all(fd))
        here = holder is not None and holder.host == socket.gethostname()
        if state is False:  # a live process holds the flock
            if here and not _pid_alive(holder.pid) and not waited_enough:
                return False  # its pid is gone: another run is taking the stale lock over
            raise WorkspaceError(_locked_message(db, holder, here, max_age, path))
        if holder is None:
            if time.time() - os.fstat(fd).st_mtime < SETTLE_SECONDS:
                return False  # just created; its holder is writing it
            return _take_over(fd, path, None, "its lock file is unreadable")
        if here:
            if state is True:
                reason = ("that process is gone" if not _pid_alive(holder.pid) else
                          f"pid {holder.pid} is alive but does not hold the lock (another process reused the pid)")
                return _take_over(fd, path, holder, reason)
            if not _pid_alive(holder.pid):  # no flock on this file system: the pid decides
                return _take_over(fd, path, holder, "that process is gone")
            raise WorkspaceError(_locked_message(db, holder, here, max_age, path))
        age = holder.age()
        if age is not None and age > max_age:
            return _take_over(fd, path, holder, f"it was taken on host {holder.host} {_hours(age)} ago, "
                                            f"longer than a run may last ({_hours(max_age)})")
        raise WorkspaceError(_locked_message(db, holder, here, max_age, path))
    finally:
        os.close(fd)


def _take_over(fd: int, path: Path, holder: Holder | None, reason: str) -> bool:
    """Remove a stale lock file. The caller holds its flock, so no one else is doing the same;
    without flock, the path is checked once more to still be that file."""
    if not _same_file(fd, path):
        return True
    who = f"run pid {holder.pid} ({holder.describe()})" if holder else "an unknown run"
    console.warn(f"{path}: taking over the stale lock of {who}: {reason}")
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return True


def _locked_message(db: Path, holder: Holder | None, here: bool, max_age: timedelta, path: Path) -> str:
    if holder is None:
        return f"{db} is locked by another crmtool run (its lock file cannot be read); it is still running"
    if here:
        return (f"{db} is locked by run pid {holder.pid} ({holder.describe()}); it is still running. "
                "Wait for it to finish, or use another --db")
    return (f"{db} is locked by run pid {holder.pid} on host {holder.host} ({holder.describe()}); it may still be "
            f"running, and this host cannot check. The lock counts as stale {_hours(max_age)} after it was taken; "
            f"remove {path} if that run is gone")


# --- system calls --------------------------------------------------------------------------------


def _flock(fd: int, wait: float) -> bool | None:
    """Take an exclusive flock: True when taken, False when another process holds it (after
    `wait` seconds of trying), None when the file system does not support flock."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL / 5)
        except OSError as exc:
            if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                return None
            raise


def _same_file(fd: int, path: Path) -> bool:
    """Whether `path` still names the file open as `fd` (it may have been removed or replaced)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def _pid_alive(pid: int | None) -> bool:
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _read_all(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def _hours(delta: timedelta | None) -> str:
    if delta is None:
        return "?"
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.0f} days"
