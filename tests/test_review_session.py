"""The terminal review: scripted answers drive a real session on a real workspace."""

from __future__ import annotations

import io
import json
import os
import select
import shutil
import signal
import sys
import time

import pytest
from rich.console import Console
from typer.testing import CliRunner

from conftest import SAMPLES

from crmtool.cli import app
from crmtool.match import review_session
from crmtool.match.review import review_pairs
from crmtool.match.review_session import ReviewSession
from crmtool.match.stage import match_workspace
from crmtool.normalize.runner import normalize_workspace
from crmtool.pipeline import load_paths
from crmtool.workspace import Workspace

# Thresholds that leave the samples 35 review pairs, 13 questions (two contacts each) to ask (the
# defaults leave none: their one review pair is joined by other links).
UPPER, LOWER = 0.99999, 0.05


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("review") / "template.duckdb"
    with Workspace.open(path) as workspace:
        load_paths(workspace, [SAMPLES])
        normalize_workspace(workspace)
        match_workspace(workspace, UPPER, LOWER)
    return path


@pytest.fixture
def db(template, tmp_path):
    path = tmp_path / "ws.duckdb"
    shutil.copy(template, path)
    return path


@pytest.fixture
def ws(db):
    with Workspace.open(db) as workspace:
        yield workspace


def scripted(*answers: str, then: type[BaseException] = EOFError):
    """A reader that gives the answers in turn, then raises `then` (end of input or Ctrl-C)."""
    given = iter(answers)

    def read() -> str:
        try:
            return next(given)
        except StopIteration:
            raise then from None

    return read


def session(ws, *answers, then=EOFError, **kwargs):
    out = Console(file=io.StringIO(), width=160, color_system=None)
    s = ReviewSession(ws, read=scripted(*answers, then=then), out=out, source="test", **kwargs)
    return s, s.run(), out.file.getvalue()


def decisions(ws) -> dict[tuple[int, int], str]:
    return {(a, b): v for a, b, v in ws.con.execute("SELECT record_a, record_b, verdict FROM decisions").fetchall()}


def key(pair) -> tuple[int, int]:
    return pair["record_a"], pair["record_b"]


def cluster(ws, record_id: int) -> str:
    return ws.scalar("SELECT cluster_id FROM clusters WHERE entity = 'contact' AND record_id = ?", [record_id])


def test_same_different_skip_and_quit(ws):
    order = review_pairs(ws, 100)
    n = len(order)
    assert n >= 12
    _, summary, text = session(ws, "s", "нет", "", "k", "q", "s")
    assert decisions(ws) == {key(order[0]): "same", key(order[1]): "different"}
    assert summary.counts() == {"same": 1, "different": 1, "skipped": 2, "remaining": n - 2, "interrupted": False}
    assert ws.scalar("SELECT DISTINCT source FROM decisions") == "test"
    # side by side, with the explanation; the summary points at `crmtool match`
    first = order[0]
    assert first["a_name"] in text and first["b_file"] in text and first["explanation"] in text
    assert f"1 same, 1 different, 2 skipped; {n - 2} questions still undecided" in text
    assert "crmtool match" in text
    assert text.count("same person?") == 5  # "q" ended it: the last "s" was never read


def test_every_answer_word_and_key(ws):
    order = review_pairs(ws, 100)
    answers = ["1", "да", "y", "s", "0", "нет", "n", "d", "ы", "в"]
    session(ws, *answers)
    assert [decisions(ws)[key(p)] for p in order[:10]] == ["same"] * 4 + ["different"] * 4 + ["same", "different"]


def test_unknown_input_says_what_is_accepted_and_asks_again(ws):
    order = review_pairs(ws, 1)
    _, summary, text = session(ws, "может быть", "x", "Да ")
    assert text.count("is not an answer") == 2
    assert "s/1/да/y = same, d/0/нет/n = different, Enter/k = skip" in text
    assert decisions(ws) == {key(order[0]): "same"}
    assert summary.same == 1 and summary.skipped == 0


def test_undo_withdraws_the_previous_verdict(ws):
    order = review_pairs(ws, 100)
    _, summary, text = session(ws, "u", "s", "d", "u", "s", "q")
    assert "nothing to undo yet" in text
    assert "verdict 'different' on question 2 withdrawn" in text
    assert decisions(ws) == {key(order[0]): "same", key(order[1]): "same"}
    assert (summary.same, summary.different, summary.remaining) == (2, 0, len(order) - 2)


def test_undo_steps_back_over_a_skip(ws):
    order = review_pairs(ws, 100)
    _, summary, _ = session(ws, "d", "", "u", "u", "k", "s")
    # back over the skip, then over "different": pair 1 skipped after all, pair 2 same
    assert decisions(ws) == {key(order[1]): "same"}
    assert (summary.same, summary.different, summary.skipped) == (1, 0, 1)


def test_ctrl_c_keeps_what_was_answered(ws):
    order = review_pairs(ws, 100)
    _, summary, text = session(ws, "s", "d", then=KeyboardInterrupt)
    assert summary.interrupted and (summary.same, summary.different) == (1, 1)
    assert decisions(ws) == {key(order[0]): "same", key(order[1]): "different"}
    assert "interrupted; answers so far are saved" in text


def test_limit_and_pages(ws, monkeypatch):
    order = review_pairs(ws, 100)
    n = len(order)
    s, summary, _ = session(ws, *["d"] * n, limit=3)
    assert len(decisions(ws)) == 3 and summary.remaining == n - 3 and len(s.pairs) == 3
    # read two at a time, the session still walks every pair once, in order
    monkeypatch.setattr(review_session, "PAGE", 2)
    s, summary, _ = session(ws, *["s"] * n)
    assert [key(p) for p in s.pairs] == [key(p) for p in order[3:]]
    assert summary.same == n - 3 and summary.remaining == 0
    _, summary, text = session(ws, "s")
    assert "nothing to review" in text and summary.counts()["same"] == 0


def test_a_rerun_of_match_obeys_the_session(ws):
    order = review_pairs(ws, 100)
    # only pairs across two contacts are asked
    assert not any(cluster(ws, p["record_a"]) == cluster(ws, p["record_b"]) for p in order)
    # "same" on one pair, "different" on another: the second stays apart even where the first
    # "same" or other links could now join it
    same_at, different_at = 3, 1
    answers = ["s" if i == same_at else "d" if i == different_at else "k" for i in range(max(same_at, different_at) + 1)]
    session(ws, *answers, "q")
    match_workspace(ws, UPPER, LOWER)
    a, t = order[same_at], order[different_at]
    assert cluster(ws, a["record_a"]) == cluster(ws, a["record_b"])
    assert cluster(ws, t["record_a"]) != cluster(ws, t["record_b"])
    reasons = {(x, y): r for x, y, r in ws.con.execute("SELECT record_a, record_b, reason FROM pairs").fetchall()}
    assert reasons[key(a)] == "human_same" and reasons[key(t)] == "human_different"
    # skipped pairs stay in review, first in line next time
    still = [key(p) for p in review_pairs(ws, 100)]
    skipped = [key(order[i]) for i, answer in enumerate(answers) if answer == "k"]
    assert still[: len(skipped)] == skipped and key(a) not in still and key(t) not in still


def test_cli_reads_answers_from_stdin_and_journals_the_session(db):
    runner = CliRunner()
    with Workspace.open(db) as ws:
        n = len(review_pairs(ws, 100))
    result = runner.invoke(app, ["review", "--db", str(db), "--answers-from-stdin", "--json"], input="s\nd\n\nq\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) | {"run_id": 0} == {
        "run_id": 0, "same": 1, "different": 1, "skipped": 1, "remaining": n - 2, "interrupted": False,
    }
    assert "same person?" in result.stderr
    with Workspace.open(db) as ws:
        assert ws.one("SELECT command, status FROM runs ORDER BY run_id DESC LIMIT 1") == ("review", "ok")
        assert ws.scalar("SELECT count(*) FROM decisions WHERE source = 'stdin'") == 2
    # the end of piped input ends the session like q
    result = runner.invoke(app, ["review", "--db", str(db), "--answers-from-stdin", "--limit", "5"], input="d\n")
    assert result.exit_code == 0 and f"0 same, 1 different, 0 skipped; {n - 3} questions" in result.stderr
    # the workbook commands still work under the group
    result = runner.invoke(app, ["review", "export", "--db", str(db), "--out", str(db.parent / "r.xlsx"), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["pairs"] == n - 3


def test_cli_refuses_a_piped_stdin_without_the_flag(db, cli):
    result = CliRunner().invoke(app, ["review", "--db", str(db)], input="s\n")
    assert result.exit_code == 2
    assert "not a terminal" in result.stderr and "review export" in result.stderr
    with Workspace.open(db) as ws:
        assert ws.scalar("SELECT count(*) FROM decisions") == 0
    assert cli("review", "--db", db).code == 2  # the installed entry point too (stdin is not a terminal under pytest)


@pytest.mark.skipif(os.name != "posix", reason="drives a pseudo-terminal")
def test_ctrl_c_in_a_real_terminal_exits_cleanly_with_the_answers_saved(db):
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: crmtool on the terminal
        try:
            os.execv(sys.executable, [sys.executable, "-m", "crmtool", "review", "--db", str(db)])
        finally:
            os._exit(127)
    seen = b""

    def wait_for(text: bytes, count: int = 1, timeout: float = 30) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while seen.count(text) < count:
            assert time.monotonic() < deadline, seen.decode(errors="replace")[-2000:]
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    seen += os.read(fd, 65536)
                except OSError:  # the child closed the terminal
                    break

    status = None
    try:
        wait_for(b"same person?")
        os.write(fd, "да\n".encode())
        wait_for(b"same person?", 2)
        time.sleep(0.3)
        os.write(fd, b"\x03")  # Ctrl-C while it waits for an answer
        wait_for(b"questions still undecided")
        _, status = os.waitpid(pid, 0)
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    text = seen.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 130
    assert "interrupted; answers so far are saved: 1 same" in text and "Traceback" not in text
    with Workspace.open(db) as ws:
        assert ws.one("SELECT verdict, source FROM decisions") == ("same", "terminal")
