"""A real-browser test: a learner takes a quiz in JupyterLab, in headless Chromium.

JupyterLab starts on 127.0.0.1 (a free port, a random token) in a temp folder
holding a copy of `quizzes/module1_quizzes.ipynb`, with its own progress store.
Playwright drives Debian's `/usr/bin/chromium` (no browser download): run the
notebook, click a choice, check it, submit, read the feedback from the page, and
find the attempt in the progress store. Another opens the course home
(`START_HERE.ipynb`, as the README's command does), follows its link to a lab, runs a check there and
sees it recorded on the home page. Another does the same for the
guardrails lesson's human-approval panel: reject without feedback (refused),
reject with feedback, and the decision reaches the kernel. Another opens the HTML page of
`python -m agentkit profile --html` straight from disk: the waterfall and bucket chart render, nothing is
fetched, and the console shows no errors.

Without Chromium or Playwright the test skips with the reason, unless
`AGENTKIT_REQUIRE_BROWSER=1` (set by `.ci/run`), where it fails instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from agentkit.course.lab import Lab
from agentkit.course.quiz import QUIZ_DIR, Quiz
from agentkit.course.quiz_widget import _plain

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NOTEBOOK = QUIZ_DIR / "module1_quizzes.ipynb"
QUIZ_ID = "l1_trace_layer"
WAIT_MS = 90_000  # every browser wait is bounded; generous for a busy 2-core machine

pytestmark = pytest.mark.timeout(300)


def _need_browser() -> None:
    """Skip (or, in CI, fail) when the browser stack is missing."""
    problem = None
    if not Path(CHROMIUM).exists():
        problem = f"{CHROMIUM} not found (install Debian's chromium: apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright Python package is not installed (pip install -r requirements.txt)"
    if problem:
        if os.environ.get("AGENTKIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser test required (AGENTKIT_REQUIRE_BROWSER=1) but {problem}")
        pytest.skip(problem)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyterlab(root: Path, progress_db: Path) -> Iterator[tuple[str, str]]:
    """A JupyterLab server on loopback; yields (base url, token); always shut down."""
    port, token = _free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AGENTKIT_PROGRESS_DB": str(progress_db), "JUPYTER_RUNTIME_DIR": str(root / ".runtime")}
    log = (root / "jupyter.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
         f"--LabApp.workspaces_dir={root / '.workspaces'}", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--ServerApp.terminals_enabled=False",
         *(["--allow-root"] if os.geteuid() == 0 else [])],  # CI containers run as root
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"JupyterLab exited early:\n{(root / 'jupyter.log').read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as r:
                    if r.status == 200:
                        break
            if time.monotonic() > deadline:
                raise AssertionError(f"JupyterLab did not start in 90 s:\n{(root / 'jupyter.log').read_text()[-3000:]}")
            time.sleep(0.3)
        yield base, token
    finally:
        # ask the server to stop its kernels and exit; then make sure it has
        with contextlib.suppress(OSError):
            urllib.request.urlopen(urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST"), timeout=10)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait(timeout=10)
        log.close()


def _wait_for_kernel(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel")


def _fresh(path: Path, target: Path) -> Path:
    """A copy of a notebook without committed outputs or saved widget state, as a learner gets it, so every
    widget on the page is live."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


@contextlib.contextmanager
def _notebook_page(pw, base: str, token: str, path: str) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """Chromium on JupyterLab with `path` open, every cell run; the browser is closed afterwards."""
    from playwright.sync_api import expect

    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=WAIT_MS)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(WAIT_MS)
        expect.set_options(timeout=WAIT_MS)
        page.goto(f"{base}/lab/tree/{path}?token={token}", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
        _wait_for_kernel(page)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        yield page
    finally:
        browser.close()


def _attempts(db: Path) -> list[tuple]:
    if not db.exists():
        return []
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        with contextlib.suppress(sqlite3.OperationalError):  # table not created yet
            return conn.execute("SELECT quiz_id, attempt, correct, total, score FROM quiz_attempts").fetchall()
    return []


def test_take_a_quiz_in_jupyterlab(tmp_path):
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    root = tmp_path / "course"
    root.mkdir()
    notebook = _fresh(NOTEBOOK, root / NOTEBOOK.name)
    db = tmp_path / "progress.sqlite"

    # What the kernel will show: attempt 1 of the quiz (its store is empty), shuffled the same way.
    quiz = Quiz.load(QUIZ_ID, attempt=1)
    q1, q2 = quiz.questions[0], quiz.questions[1]
    right = next(c for c in q1.choices if c.correct)
    wrong = next(c for c in q2.choices if not c.correct)

    with jupyterlab(root, db) as (base, token), sync_playwright() as pw, \
            _notebook_page(pw, base, token, notebook.name) as page:
        box = page.locator(f".agentkit-quiz-{QUIZ_ID}")
        expect(box).to_be_visible()
        questions = box.locator(".agentkit-question")
        expect(questions).to_have_count(len(quiz.questions))

        # Question 1: pick the right answer and check it
        first = questions.nth(0)
        first.get_by_text(_plain(right.text)).click()
        first.get_by_role("button", name="Check answer").click()
        feedback = first.locator(".agentkit-question-feedback")
        expect(feedback).to_contain_text("✓ Correct")
        text = feedback.inner_text()
        assert " ".join(right.feedback.split()) in " ".join(text.split())

        # Question 2: a wrong answer; question 3 left blank; submit twice to confirm
        second = questions.nth(1)
        second.get_by_text(_plain(wrong.text)).click()
        submit = box.get_by_role("button", name="Submit quiz")
        submit.click()
        message = box.locator(".agentkit-message")
        expect(message).to_contain_text("Question 3 is not answered")
        submit.click()
        expect(message).to_contain_text("Score: 1/3 (33%)")
        expect(second.locator(".agentkit-question-feedback")).to_contain_text("✗ Not quite")
        assert " ".join(wrong.feedback.split()) in " ".join(second.inner_text().split())
        expect(box.get_by_role("button", name="Retake")).to_be_visible()

        # the attempt is in the Jupyter server's progress store
        deadline = time.monotonic() + 30
        while not (rows := _attempts(db)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert rows == [(QUIZ_ID, 1, 1, 3, pytest.approx(1 / 3))]


APPROVAL_OUTPUT = "Hi Sam, order A-1042 is on its way. We've also added a 20 EUR voucher. Northwind Support"


def _approval_notebook(root: Path, decision_file: Path) -> Path:
    """A notebook that shows the guardrails lesson's approval panel; the decision is written to a file,
    so the test sees what reached the kernel, not just what the page shows."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import json\n"
        "from pathlib import Path\n"
        "from agentkit.guardrails import approval_widget\n\n"
        "def record(decision):\n"
        f"    Path({str(decision_file)!r}).write_text(json.dumps({{'approved': decision.approved, "
        "'feedback': decision.feedback}))\n"
        "    return 'sent back to the agent' if not decision.approved else 'shipped'\n\n"
        f"approval_widget({APPROVAL_OUTPUT!r}, record)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = root / "approval.ipynb"
    nbformat.write(nb, path)
    return path


def test_human_approval_widget_in_jupyterlab(tmp_path):
    """Foundations 06's human-approval panel in a real browser: reject without feedback is refused, reject with
    feedback reaches the kernel as a Decision, and the panel then locks."""
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    root = tmp_path / "course"
    root.mkdir()
    decision_file = tmp_path / "decision.json"
    notebook = _approval_notebook(root, decision_file)

    with jupyterlab(root, tmp_path / "progress.sqlite") as (base, token), sync_playwright() as pw, \
            _notebook_page(pw, base, token, notebook.name) as page:
        panel = page.locator(".agentkit-approval")
        expect(panel).to_be_visible()
        expect(panel).to_contain_text("20 EUR voucher")
        reject = panel.get_by_role("button", name="Reject with feedback")
        approve = panel.get_by_role("button", name="Approve")
        status = panel.locator(".agentkit-approval-status")

        reject.click()  # no feedback yet: asks for it and decides nothing
        expect(status).to_contain_text("Write what should change first")
        assert not decision_file.exists()

        panel.locator("textarea").fill("No vouchers: this account is flagged.")
        reject.click()
        expect(status).to_contain_text("Rejected: No vouchers: this account is flagged.")
        expect(status).to_contain_text("sent back to the agent")
        expect(approve).to_be_disabled()
        expect(reject).to_be_disabled()

    deadline = time.monotonic() + 30
    while not decision_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert json.loads(decision_file.read_text()) == {"approved": False,
                                                     "feedback": "No vouchers: this account is flagged."}


REPO = Path(__file__).resolve().parent.parent


def test_course_home_links_to_a_lab_and_shows_its_progress(tmp_path):
    """The README's first command opens JupyterLab on START_HERE.ipynb at the course root: its table links to
    each lab; a check run there is recorded, and the home shows it when its cell is run again."""
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    root = tmp_path / "course"
    _fresh(REPO / "START_HERE.ipynb", root / "START_HERE.ipynb")
    for folder in ("notebooks", "quizzes"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (root / "labs").mkdir()
    _fresh(REPO / "labs" / "l2_token_cost.ipynb", root / "labs" / "l2_token_cost.ipynb")
    db = tmp_path / "progress.sqlite"
    lab_row = "l2_token_cost"

    with jupyterlab(root, db) as (base, token), sync_playwright() as pw, \
            _notebook_page(pw, base, token, "START_HERE.ipynb") as page:
        home = page.locator(".jp-NotebookPanel:visible")
        row = home.locator("tr", has_text=lab_row)
        expect(row).to_contain_text("not started")

        # follow the home's link to the lab: JupyterLab opens it in a new tab
        row.get_by_role("link", name=lab_row).click()
        page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget && window.jupyterapp.shell.currentWidget.context"
            f" && window.jupyterapp.shell.currentWidget.context.path === 'labs/{lab_row}.ipynb'")
        _wait_for_kernel(page)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        lab_panel = page.locator(".jp-NotebookPanel:visible")
        expect(lab_panel).to_contain_text("not attempted", timeout=WAIT_MS)
        # the learner answers one task in a new cell at the end and runs it
        page.evaluate("""() => {
            const app = window.jupyterapp, nb = app.shell.currentWidget.content;
            nb.activeCellIndex = nb.widgets.length - 1;
            return app.commands.execute('notebook:insert-cell-below').then(() => {
                nb.activeCell.model.sharedModel.setSource('lab.check("cache_reads", {"tools", "system", "history"})');
                return app.commands.execute('notebook:run-cell');
            });
        }""")
        expect(lab_panel.locator(".jp-Cell").last).to_contain_text("cache_reads", timeout=WAIT_MS)
        expect(lab_panel.locator(".jp-Cell").last).to_contain_text("Passed", timeout=WAIT_MS)

        # back on the home, its progress cell shows the pass
        page.evaluate("() => window.jupyterapp.commands.execute('application:activate-previous-tab')")
        page.wait_for_function("() => window.jupyterapp.shell.currentWidget.context.path === 'START_HERE.ipynb'")
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        home = page.locator(".jp-NotebookPanel:visible")
        tasks = len(Lab.load(lab_row).tasks)
        expect(home.locator("tr", has_text=lab_row)).to_contain_text(f"1 of {tasks} tasks passed")

    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        rows = conn.execute("SELECT lab_id, task_id, passed FROM lab_checks WHERE passed = 1").fetchall()
    assert rows == [(lab_row, "cache_reads", 1)]


def test_profile_report_renders_in_chromium(tmp_path):
    """`python -m agentkit profile --html`: the page opens from disk with no network, the waterfall and the bucket
    chart are drawn (inline SVG with bars, a real size on screen) and the console shows no errors."""
    _need_browser()
    from playwright.sync_api import sync_playwright

    import agentkit
    from agentkit.profile import write_otlp_json
    from agentkit.tracing import capture

    client = agentkit.client(seed=4, quiet=True)
    tools = [{"name": "lookup", "description": "Look a word up.",
              "input_schema": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]}}]
    with capture() as trace:
        client.messages.create(model=agentkit.DEFAULT_MODEL, max_tokens=200, tools=tools,
                               messages=[{"role": "user", "content": "Look up 'span'."}])
    spans = write_otlp_json(trace.spans, tmp_path / "spans.jsonl")
    page_path = tmp_path / "report.html"
    proc = subprocess.run([sys.executable, "-m", "agentkit", "profile", str(spans), "--html", str(page_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr

    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=WAIT_MS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri(), wait_until="load")
            waterfall = page.locator("figure.waterfall svg").first
            box = waterfall.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 80
            assert page.locator("figure.waterfall svg path").count() > 5  # the bars and axes were drawn
            assert page.locator("figure.buckets svg").count() == 1
            assert page.locator("table tbody tr").count() >= 1
            assert "Diagnosis" in page.locator("pre").first.inner_text()
        finally:
            browser.close()
    assert errors == []
    assert [u for u in requests if not u.startswith("file://")] == []  # nothing fetched from a network
