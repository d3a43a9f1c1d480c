"""The terminal review: undecided questions one at a time, one answer each, every verdict stored at once.

The session walks the questions most likely first (the same query as the
workbook, `review_pairs`: for each two contacts review pairs link, the strongest
pair), shows both records side by side with what differs
highlighted, and stores each verdict through `record_verdicts` the moment it is
given, so Ctrl-C or a closed terminal loses nothing already answered. The line
reader and the rich Console are passed in: tests drive a session with scripted
answers, the `crmtool review` command wires it to the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from crmtool.match.review import (
    DIFFERENT, SAME, VERDICTS, record_verdicts, review_pairs, undecided_count, withdraw_verdict,
)
from crmtool.workspace import Workspace

SKIP, UNDO, QUIT = "skip", "undo", "quit"
# Every workbook word works here too; the keys also on the Russian layout (ы = s, в = d, …),
# except y/n, whose Russian-layout letter "н" already means "нет".
ANSWERS: dict[str, str] = {
    **VERDICTS,
    "s": SAME, "ы": SAME,
    "d": DIFFERENT, "в": DIFFERENT,
    "": SKIP, "k": SKIP, "л": SKIP, "skip": SKIP,
    "u": UNDO, "г": UNDO, "undo": UNDO,
    "q": QUIT, "й": QUIT, "quit": QUIT,
}
KEYS = "s/1/да/y = same, d/0/нет/n = different, Enter/k = skip, u = undo (back one question), q = quit"
PROMPT = "same person? s/d, Enter skip, u undo, q quit > "
PAGE = 50  # pairs read from the workspace at a time

# (label, column suffix, is a list of values)
FIELDS = (
    ("contact", "contact", False), ("file", "file", False), ("row", "row", False), ("name", "name", False),
    ("phones", "phones", True), ("e-mails", "emails", True), ("company", "company", False), ("city", "city", False),
)
WHERE = ("contact", "file", "row")  # where a record is and came from: differs by nature, never highlighted
DIFFERS, AGREES, MISSING = "bold yellow", "green", "dim"


@dataclass
class SessionSummary:
    same: int = 0
    different: int = 0
    skipped: int = 0
    remaining: int = 0
    interrupted: bool = False

    def counts(self) -> dict[str, Any]:
        return {"same": self.same, "different": self.different, "skipped": self.skipped,
                "remaining": self.remaining, "interrupted": self.interrupted}

    def message(self) -> str:
        head = "interrupted; answers so far are saved: " if self.interrupted else ""
        text = (f"{head}{self.same:,} same, {self.different:,} different, {self.skipped:,} skipped; "
                f"{self.remaining:,} questions still undecided.")
        if self.same or self.different:
            text += " Run `crmtool match` to apply the verdicts."
        return text


@dataclass
class ReviewSession:
    """One sitting: `run()` asks until the pairs (or `limit`) run out, `q`, end of input or Ctrl-C."""

    ws: Workspace
    read: Callable[[], str]  # one line of input; EOFError at the end, KeyboardInterrupt on Ctrl-C
    out: Console
    limit: int | None = None
    source: str = "terminal"  # stored with each verdict in decisions.source
    echo: bool = False  # print each answer after the prompt (piped input is not echoed by a terminal)
    pairs: list[dict[str, Any]] = field(default_factory=list)  # shown so far, in order
    answers: list[str] = field(default_factory=list)  # answers[i] is pairs[i]'s: same, different or skip
    total: int = 0  # pairs this session can show
    _exhausted: bool = False

    def run(self) -> SessionSummary:
        total = undecided_count(self.ws)
        if not total:
            self.out.print("nothing to review: run `crmtool match` first, or every review pair has a verdict",
                           highlight=False, markup=False)
            return SessionSummary()
        self.total = min(total, self.limit) if self.limit else total
        self.out.print(Text(f"{total:,} questions undecided (one per two contacts), most likely first. {KEYS}.",
                            style="bold"))
        interrupted = False
        try:
            self._walk()
        except KeyboardInterrupt:
            interrupted = True
            self.out.print()
        summary = self.summary(interrupted)
        self.out.print(summary.message(), highlight=False, markup=False)
        return summary

    def summary(self, interrupted: bool = False) -> SessionSummary:
        return SessionSummary(
            same=self.answers.count(SAME), different=self.answers.count(DIFFERENT),
            skipped=self.answers.count(SKIP), remaining=undecided_count(self.ws), interrupted=interrupted,
        )

    def _walk(self) -> None:
        i = 0
        while (pair := self._pair(i)) is not None:
            self.out.print(render(pair, i + 1, self.total))
            action = self._ask(can_undo=i > 0)
            if action == QUIT:
                return
            if action == UNDO:
                i -= 1
                self._undo(i)
                continue
            if action in (SAME, DIFFERENT):
                record_verdicts(self.ws, [(pair["record_a"], pair["record_b"], action)], self.source)
            self.answers.append(action)
            self.out.print(Text(f"→ {action}" + (" (saved)" if action != SKIP else " (stays in review)"), style="dim"))
            i += 1

    def _pair(self, i: int) -> dict[str, Any] | None:
        """The i-th pair of the session, read a page at a time past the last one shown."""
        if i < len(self.pairs):
            return self.pairs[i]
        if self._exhausted or (self.limit and len(self.pairs) >= self.limit):
            return None
        size = min(PAGE, self.limit - len(self.pairs)) if self.limit else PAGE
        page = review_pairs(self.ws, size, after=self.pairs[-1] if self.pairs else None)
        self._exhausted = len(page) < size
        self.pairs.extend(page)
        return self.pairs[i] if i < len(self.pairs) else None

    def _ask(self, can_undo: bool) -> str:
        """Read until the answer is one we know; the end of input means quit."""
        while True:
            self.out.print(Text(PROMPT, style="bold"), end="")
            try:
                line = self.read()
            except EOFError:
                self.out.print()
                return QUIT
            if self.echo:
                self.out.print(Text(line.strip()))
            action = ANSWERS.get(line.strip().lower())
            if action is None:
                self.out.print(Text(f"{line.strip()!r} is not an answer: {KEYS}", style="yellow"))
            elif action == UNDO and not can_undo:
                self.out.print(Text("nothing to undo yet in this session", style="yellow"))
            else:
                return action

    def _undo(self, i: int) -> None:
        """Back to pair i: its verdict, if it had one, is withdrawn (the pair is in review again)."""
        pair, answer = self.pairs[i], self.answers.pop()
        if answer in (SAME, DIFFERENT):
            withdraw_verdict(self.ws, pair["record_a"], pair["record_b"])
            self.out.print(Text(f"↶ verdict {answer!r} on question {i + 1} withdrawn", style="dim"))
        else:
            self.out.print(Text(f"↶ back to question {i + 1}", style="dim"))


def render(pair: dict[str, Any], number: int, total: int) -> Group:
    """Both records side by side (values that disagree in bold yellow, agreeing ones
    green), then the rules that proposed the pair and its comparison levels."""
    table = Table(
        title=Text(f"question {number:,} of {total:,}: probability {pair['probability']} (weight {pair['weight']}), "
                   f"{pair['reason']}", style="bold"),
        title_justify="left",
    )
    table.add_column("field", style="dim")
    table.add_column("record A", overflow="fold")
    table.add_column("record B", overflow="fold")
    for label, column, is_list in FIELDS:
        a, b = pair[f"a_{column}"], pair[f"b_{column}"]
        if label in WHERE:
            table.add_row(label, Text(str(a)), Text(str(b)))
        elif is_list:
            table.add_row(label, *_items(a, b))
        else:
            table.add_row(label, *_scalars(a, b))
    lines = [table, Text(f"rules: {pair['rules'] or '—'}"), Text(f"levels: {pair['explanation'] or '—'}")]
    if pair.get("links", 1) > 1:
        lines.append(Text(f"the strongest of {pair['links']} review pairs between these two contacts: "
                          "the answer is for all of them", style="dim"))
    return Group(*lines)


def _key(value: Any) -> str:
    return " ".join(str(value).lower().replace("ё", "е").split())


def _scalars(a: Any, b: Any) -> tuple[Text, Text]:
    if not a or not b:
        return _cell(a), _cell(b)
    style = AGREES if _key(a) == _key(b) else DIFFERS
    return Text(str(a), style=style), Text(str(b), style=style)


def _items(a: str | None, b: str | None) -> tuple[Text, Text]:
    """Phones or e-mails ('; '-joined): the ones both sides share green, the others highlighted."""
    if not a or not b:
        return _cell(a), _cell(b)
    left, right = a.split("; "), b.split("; ")
    return _joined(left, {_key(x) for x in right}), _joined(right, {_key(x) for x in left})


def _joined(items: list[str], other: set[str]) -> Text:
    text = Text()
    for n, item in enumerate(items):
        if n:
            text.append("; ")
        text.append(item, style=AGREES if _key(item) in other else DIFFERS)
    return text


def _cell(value: Any) -> Text:
    return Text(str(value)) if value else Text("—", style=MISSING)
