"""What a push target hands the runner: one record per golden id, with its payload's hash
and the channels a duplicate lookup on the portal needs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PushRecord:
    golden_id: str
    payload: dict
    hash: str
    name: str = ""                                    # for messages: "Иванов Иван (C-12)"
    phones: list[str] = field(default_factory=list)   # E.164 without extension
    emails: list[str] = field(default_factory=list)   # lower-cased
    inn: str | None = None


@dataclass
class Outcome:
    """What one request settled: golden id → portal id, golden id → why the portal refused it."""

    done: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add(self, other: "Outcome") -> None:
        self.done.update(other.done)
        self.rejected.update(other.rejected)
        self.warnings.extend(other.warnings)
