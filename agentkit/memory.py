"""Memory and knowledge: what an agent carries from one step, one agent or one run to the next.

* `Notes`: **short-term** working notes an agent writes while it works. Other agents in the
  same job can read them (`notes.tools()` gives every agent `write_note` / `read_notes`).
  They live in memory and end with the job.
* `LessonStore`: **long-term** lessons in SQLite. After a run the agent reflects on what
  happened against what was expected (`reflect`), stores a lesson, and the next run loads
  the lessons into its system prompt (`LessonStore.prompt`). Lessons record where they came
  from, so a wrong one can be found and `forget`-ed: a remembered mistake repeats on every run.
* `Knowledge`: **static** reference material (policies, docs, CSV rows) loaded up front;
  `search` returns the best passages with ids, and `cite`/`check_citations` keep answers
  tied to their sources.

    store = LessonStore("lessons.sqlite")
    system = base_system + store.prompt("support_reply")
    ... run, get feedback ...
    store.add("support_reply", reflect(client, task, output, feedback).lesson, source="run 1")
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from agentkit.evals import measured_call
from agentkit.models import FAST_MODEL
from agentkit.tools import Tool, tool

__all__ = ["Notes", "Note", "LessonStore", "Lesson", "MemoryStoreError", "Reflection", "reflect", "Knowledge",
           "Passage", "check_citations"]


class MemoryStoreError(RuntimeError):
    """The lesson store cannot be read or written; the message says why and what to do. Nothing in the
    file is changed or deleted when this is raised, and a lesson that could not be saved is kept on the
    exception (`.unsaved`) so it is not lost."""

    def __init__(self, message: str, unsaved: "Lesson | None" = None) -> None:
        super().__init__(message)
        self.unsaved = unsaved


# -- short-term: working notes -------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    author: str
    text: str


class Notes:
    """A shared scratchpad for one job: agents append notes, any agent reads them all."""

    def __init__(self) -> None:
        self._notes: list[Note] = []
        self._lock = threading.Lock()  # tools of one step may run in parallel threads

    def write(self, author: str, text: str) -> None:
        if not text.strip():
            raise ValueError("a note needs some text")
        with self._lock:
            self._notes.append(Note(author, text.strip()))

    def read(self, author: str | None = None) -> list[Note]:
        with self._lock:
            return [n for n in self._notes if author is None or n.author == author]

    def __len__(self) -> int:
        return len(self._notes)

    def text(self) -> str:
        return "\n".join(f"[{n.author}] {n.text}" for n in self.read()) or "(no notes yet)"

    def tools(self, author: str) -> list[Tool]:
        """`write_note` and `read_notes` tools for one agent; notes it writes carry its name."""

        @tool
        def write_note(text: str) -> str:
            """Write a short working note (a finding, a decision, a to-do) that you and other agents can read later.

            Args:
                text: the note, one or two sentences
            """
            self.write(author, text)
            return f"noted ({len(self)} notes so far)"

        @tool
        def read_notes() -> str:
            """Read every working note written so far in this job, by any agent."""
            return self.text()

        return [write_note, read_notes]


# -- long-term: lessons in SQLite ----------------------------------------------------------------


@dataclass(frozen=True)
class Lesson:
    id: int | None
    task: str  # the kind of task it applies to, e.g. "support_reply"
    text: str
    source: str  # where it came from: "run 3 feedback", "reviewer: Ana", ...
    created: str  # ISO timestamp (UTC)


_SCHEMA = """CREATE TABLE IF NOT EXISTS lessons (
    id INTEGER PRIMARY KEY AUTOINCREMENT, task TEXT NOT NULL, text TEXT NOT NULL,
    source TEXT NOT NULL, created TEXT NOT NULL, UNIQUE(task, text))"""


class LessonStore:
    """Lessons an agent learned, kept in SQLite between runs.

    A file that is not a lesson store (corrupt, or another program's database) raises
    `MemoryStoreError` and is left exactly as it is; a read-only file can still be read,
    and a write to it raises `MemoryStoreError` holding the lesson. `":memory:"` keeps
    lessons for this process only.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._memory_conn: sqlite3.Connection | None = None
        if self.path == ":memory:":
            self._memory_conn = sqlite3.connect(":memory:", check_same_thread=False)
            self._memory_conn.execute(_SCHEMA)
            return
        file = Path(self.path)
        if file.exists() and file.stat().st_size > 0:  # an empty file is a new SQLite database
            self._check_readable(file)
        else:
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
                with self._open() as conn:
                    conn.execute(_SCHEMA)
            except (sqlite3.Error, OSError) as err:
                raise MemoryStoreError(f"cannot create the lesson store at {self.path}: {err}. Choose a folder you "
                                       "can write to.") from None

    def _open(self, readonly: bool = False) -> sqlite3.Connection:
        if self._memory_conn is not None:
            return self._memory_conn
        if readonly:
            uri = Path(self.path).resolve().as_uri()
            conn = sqlite3.connect(f"{uri}?mode=ro", uri=True)
            try:
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                return conn
            except sqlite3.OperationalError:  # not even a lock file can be made beside it: read it as it is
                conn.close()
                return sqlite3.connect(f"{uri}?immutable=1", uri=True)
        return sqlite3.connect(self.path)

    def _check_readable(self, file: Path) -> None:
        try:
            conn = self._open(readonly=True)
            try:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if "lessons" not in tables:
                    raise MemoryStoreError(
                        f"{self.path} is an SQLite database but not a lesson store (it has no 'lessons' table); "
                        "it was left untouched. Point LessonStore at a new file.")
                conn.execute("SELECT id, task, text, source, created FROM lessons LIMIT 1").fetchall()
            finally:
                conn.close()
        except sqlite3.DatabaseError as err:
            raise MemoryStoreError(
                f"{self.path} is not a readable lesson store ({err}): the file is damaged or not SQLite; it was left untouched. Move it aside (or "
                "restore it from a backup) and start a new store; nothing was deleted.") from None

    @property
    def writable(self) -> bool:
        if self._memory_conn is not None:
            return True
        return os.access(self.path, os.W_OK) and os.access(Path(self.path).resolve().parent, os.W_OK)

    def add(self, task: str, text: str, source: str) -> Lesson:
        """Store a lesson for a kind of task; the same lesson twice is stored once (and returned)."""
        if not task.strip() or not text.strip():
            raise ValueError("a lesson needs a task name and some text")
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        lesson = Lesson(None, task.strip(), text.strip(), source, created)
        if not self.writable:
            raise MemoryStoreError(f"the lesson store {self.path} is read-only, so this lesson was not saved: "
                                   f"{lesson.text!r} (kept on this error as .unsaved). Make the file writable or "
                                   "use another store.", lesson)
        conn = self._open()
        try:
            with conn:
                conn.execute("INSERT OR IGNORE INTO lessons (task, text, source, created) VALUES (?, ?, ?, ?)",
                             (lesson.task, lesson.text, lesson.source, lesson.created))
                row = conn.execute("SELECT id, task, text, source, created FROM lessons WHERE task=? AND text=?",
                                   (lesson.task, lesson.text)).fetchone()
        except sqlite3.Error as err:
            raise MemoryStoreError(f"could not save the lesson {lesson.text!r} to {self.path}: {err} (kept on this "
                                   "error as .unsaved)", lesson) from None
        finally:
            if conn is not self._memory_conn:
                conn.close()
        return Lesson(*row)

    def lessons(self, task: str | None = None) -> list[Lesson]:
        """The stored lessons (for one kind of task, if given), oldest first."""
        conn = self._open(readonly=self._memory_conn is None)
        try:
            sql = "SELECT id, task, text, source, created FROM lessons"
            args: tuple[str, ...] = ()
            if task is not None:
                sql, args = sql + " WHERE task=?", (task,)
            return [Lesson(*r) for r in conn.execute(sql + " ORDER BY id", args)]
        except sqlite3.DatabaseError as err:
            raise MemoryStoreError(f"could not read lessons from {self.path}: {err}; the file was left "
                                   "untouched.") from None
        finally:
            if conn is not self._memory_conn:
                conn.close()

    def forget(self, lesson_id: int) -> Lesson:
        """Delete one lesson (a wrong one); returns what was deleted. Unknown ids are an error."""
        found = [lesson for lesson in self.lessons() if lesson.id == lesson_id]
        if not found:
            raise KeyError(f"no lesson with id {lesson_id}; ids: {[lesson.id for lesson in self.lessons()]}")
        if not self.writable:
            raise MemoryStoreError(f"the lesson store {self.path} is read-only; lesson {lesson_id} was not deleted "
                                   "and every lesson in it is intact")
        conn = self._open()
        try:
            with conn:
                conn.execute("DELETE FROM lessons WHERE id=?", (lesson_id,))
        finally:
            if conn is not self._memory_conn:
                conn.close()
        return found[0]

    def prompt(self, task: str) -> str:
        """The lessons for `task` as a system-prompt section ("" when there are none)."""
        lessons = self.lessons(task)
        if not lessons:
            return ""
        return "<lessons>\nLessons from earlier runs; apply them:\n" + "\n".join(
            f"- {lesson.text}" for lesson in lessons) + "\n</lessons>"


@dataclass(frozen=True)
class Reflection:
    lesson: str
    cost: float
    seconds: float


_REFLECT_SYSTEM = ("You reflect on a finished task. Compare the output with the feedback on what was expected and "
                   "write ONE short, general lesson (one sentence) that would make the next run better.")


def reflect(client: Any, task: str, output: str, feedback: str, *, model: str = FAST_MODEL) -> Reflection:
    """Ask a model to turn one run's output and feedback into one reusable lesson."""
    if not feedback.strip():
        raise ValueError("reflect needs feedback: what was expected, or what went wrong")
    prompt = f"<task>\n{task}\n</task>\n<output>\n{output}\n</output>\n<feedback>\n{feedback}\n</feedback>"
    call = measured_call(client, model=model, max_tokens=200, system=_REFLECT_SYSTEM,
                         messages=[{"role": "user", "content": prompt}])
    return Reflection(call.text.strip(), call.cost, call.seconds)


# -- static knowledge with citations --------------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    id: str  # "<doc>#<n>", the citation
    doc: str
    text: str


class Knowledge:
    """Reference documents split into passages, searched by shared words, cited by id.

    Scoring is plain word overlap weighted by rarity (a tiny TF-IDF): enough for a
    handful of documents and fully explainable; a real library would sit behind a
    vector store or a search engine with the same `search` -> passages-with-ids shape.
    """

    def __init__(self, documents: dict[str, str]) -> None:
        if not documents:
            raise ValueError("Knowledge needs at least one document: {name: text}")
        self.passages: list[Passage] = []
        for doc, text in documents.items():
            paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
            self.passages += [Passage(f"{doc}#{i}", doc, p) for i, p in enumerate(paragraphs, 1)]
        self._words = [self._tokens(p.text) for p in self.passages]
        n = len(self.passages)
        counts: dict[str, int] = {}
        for words in self._words:
            for w in words:
                counts[w] = counts.get(w, 0) + 1
        self._idf = {w: math.log((n + 1) / (c + 0.5)) for w, c in counts.items()}

    @staticmethod
    def _tokens(text: str) -> set[str]:
        stop = {"the", "a", "an", "and", "or", "of", "to", "in", "is", "are", "for", "on", "we", "you", "it", "be",
                "do", "does", "can", "i", "my", "what", "how", "with", "our", "your", "if", "at", "by"}
        # A crude suffix strip ("returned", "returns" -> "return") so word forms meet; a real system would
        # use a proper stemmer or embeddings.
        return {re.sub(r"(ing|ed|es|s)$", "", w) if len(w) > 4 else w
                for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in stop}

    def search(self, query: str, k: int = 2) -> list[Passage]:
        """The `k` passages sharing the most (rarity-weighted) words with `query`, best first."""
        words = self._tokens(query)
        if not words:
            raise ValueError("search needs a query with at least one meaningful word")
        scores = [sum(self._idf[w] for w in words & pw) for pw in self._words]
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))  # best first, ties in document order
        return [self.passages[i] for i in order[:k] if scores[i] > 0]

    def get(self, passage_id: str) -> Passage:
        for p in self.passages:
            if p.id == passage_id:
                return p
        raise KeyError(f"no passage {passage_id!r}; ids look like {self.passages[0].id!r}")

    def context(self, passages: Sequence[Passage]) -> str:
        """Passages formatted for a prompt, each with the id to cite it by."""
        return "\n".join(f"[{p.id}] {p.text}" for p in passages)

    def tool(self) -> Tool:
        """A `search_knowledge` tool for an agent to retrieve passages when it needs them."""

        @tool
        def search_knowledge(query: str) -> str:
            """Search the reference documents; returns passages with [ids] to cite.

            Args:
                query: what you need to know
            """
            return self.context(self.search(query)) or "no passage matches"

        return search_knowledge


def check_citations(answer: str, knowledge: Knowledge) -> dict[str, Any]:
    """The [doc#n] citations in an answer: which exist, which do not (made up), and whether there are any."""
    cited = re.findall(r"\[([\w.-]+#\d+)\]", answer)
    known = {p.id for p in knowledge.passages}
    return {"cited": cited, "unknown": [c for c in cited if c not in known], "has_citations": bool(cited)}
