"""Errors a user can cause, each with the exit code scripts rely on.

0 success, 1 checks failed / findings above a threshold, 2 usage or input error.
Anything raised as a CrmError is shown as one line, never as a traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2


class CrmError(Exception):
    """A failure the user can act on; the message is the whole story."""

    exit_code = EXIT_INPUT


class SourceError(CrmError):
    """A source file cannot be read: names the file, the place and the reason."""

    def __init__(self, path: str, reason: str, line: int | None = None):
        self.path = str(path)
        self.reason = reason
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


class WorkspaceError(CrmError):
    """The workspace file is missing, locked by another process, or not ours."""
