"""The checked exercises of lesson F05 Memory and knowledge."""

from __future__ import annotations

import json
import random
import re
from typing import Any

from agentkit.course.lab import FunctionTask, Task, Verdict, as_function, as_name, call_learner_code, passed, wrong
from agentkit.exercises import Exercises


# -- F05 ----------------------------------------------------------------------------------


def _check_citation(answer: Any) -> Verdict:
    from agentkit.cases.support import POLICY_DOCS
    from agentkit.memory import Knowledge

    knowledge = Knowledge(POLICY_DOCS)
    ids = [p.id for p in knowledge.passages]
    got = as_name(answer, ids, what="your citation")
    right = next(p.id for p in knowledge.passages if "late" in p.text and "refund the shipping" in p.text)
    if got != right:
        return wrong(f"[{got}] says: {knowledge.get(got).text!r}. Does that say what happens to the postage when a "
                     "parcel arrives late?")
    return passed(f"[{right}] is the passage that says so.")


# -- memory around a model call: read (with a budget) and write (without duplicates) ------------------------------

TASK = "late_reply"  # the kind of task the lesson's lessons are stored under

_LESSON_POOL = ("Refund the shipping fee when a delivery is late.", "Give the tracking number.",
                "Look the order up before replying.", "Apologise once, not three times.",
                "Never promise a date the carrier has not confirmed.", "Sign off as Northwind Support.",
                "Name the order in the first sentence.", "Keep the reply under 80 words.")
_OTHER_TASK_LESSONS = ("Quote the returns policy's 30 days.", "Offer an exchange before a refund.")


def _sent_text(request: dict[str, Any]) -> str:
    """Everything a request told the model (system prompt and messages), as JSON text to search in."""
    return json.dumps({"system": request.get("system"), "messages": request.get("messages")})


def _in(text: str, sent: str) -> bool:
    return json.dumps(text)[1:-1] in sent


def _fill(rng: random.Random, count: int) -> tuple[Any, list[str]]:
    """A fresh LessonStore holding `count` late_reply lessons (oldest first, perturbed) and other tasks' lessons."""
    from agentkit.memory import LessonStore

    store = LessonStore(":memory:")
    texts = [f"{t} (from review {rng.randrange(100, 999)})" for t in rng.sample(_LESSON_POOL, count)]
    others = list(_OTHER_TASK_LESSONS)
    for k, text in enumerate(texts):
        store.add(TASK, text, source=f"run {k + 1} feedback")
        if len(others) > 1 and rng.random() < 0.5:
            store.add("returns_reply", others.pop(0), source="reviewer")
    for text in others:  # at least one other task's lesson is the newest in the store
        store.add("returns_reply", text, source="reviewer")
    return store, texts


def _check_recall(answer: Any) -> Verdict:
    from agentkit.exercises._transcript import run_recorded

    fn = as_function(answer, "answer_with_memory")
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    for kind, count, budget in (("three lessons, budget 3", 3, 3), ("five lessons, budget 2", 5, 2),
                                ("four lessons, budget 0", 4, 0), ("no lessons yet", 0, 3)):
        store, texts = _fill(rng, count)
        order = f"A-{rng.randrange(1000, 9999)}"
        email = f"Hi, my order {order} is late and nobody answers. Sam"
        reply = f"Hi Sam, order {order} is on its way (reply {rng.randrange(100, 999)}). Northwind Support"
        scenario = {"name": "f05_recall", "match": {"user": re.escape(email)}, "turns": [reply], "after": reply}
        run = run_recorded(fn, store, email, budget, scenarios=[scenario])
        shown = f"in the case '{kind}' (check seed {seed})"
        if run.error:
            return wrong(f"It raised {run.error} {shown}.")
        if len(run.requests) != 1:
            return wrong(f"It made {len(run.requests)} model calls {shown}; answering the email is one call.")
        sent = _sent_text(run.requests[0])
        if not _in(email, sent):
            return wrong(f"The customer's email never reached the model {shown}.")
        want = texts[len(texts) - budget:] if budget else []
        missing = [t for t in want if not _in(t, sent)]
        if missing:
            return wrong(f"The prompt lacks {len(missing)} of the newest {budget} lesson(s) {shown}, e.g. "
                         f"{missing[0]!r}: store.lessons(task) lists them oldest first.")
        extra = [t for t in texts if t not in want and _in(t, sent)]
        if extra:
            return wrong(f"The prompt holds {len(extra)} lesson(s) beyond the budget of {budget} {shown}, e.g. "
                         f"{extra[0]!r}: keep only the newest max_lessons.")
        if any(_in(t, sent) for t in _OTHER_TASK_LESSONS):
            return wrong(f"The prompt holds a lesson stored for another kind of task {shown}: read only "
                         f"store.lessons({TASK!r}).")
        got = run.value.strip() if isinstance(run.value, str) else run.value
        if got != reply:
            return wrong(f"It returned {run.value!r} {shown}; return the text of the model's reply.")
    return passed("It loads the newest lessons within the budget, only for this task, and answers in one call.")


def _same(a: str, b: str) -> bool:
    norm = lambda t: re.sub(r"\s+", " ", t).strip().rstrip(".").strip().lower()  # noqa: E731
    return norm(a) == norm(b)


def _check_learn(answer: Any) -> Verdict:
    from agentkit.exercises._transcript import run_recorded

    fn = as_function(answer, "learn")
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    for kind in ("a new lesson", "the same lesson, other capitals and a full stop", "a second new lesson",
                 "the same lesson, with extra spaces"):
        store, texts = _fill(rng, 2)
        before = store.lessons()
        order = f"A-{rng.randrange(1000, 9999)}"
        output = f"Hi Sam, order {order} is late. Northwind Support"
        feedback = f"Reviewer {rng.randrange(10, 99)}: {rng.choice(['tell them the tracking number', 'refund the fee', 'say sorry once'])}."
        source = f"run {rng.randrange(3, 9)} feedback"
        if kind.startswith("the same"):
            known = rng.choice(texts)
            lesson = known.upper() + "." if "capitals" in kind else "  " + known.replace(" ", "  ") + "  "
        else:
            lesson = f"{rng.choice(_LESSON_POOL)} (learned on {order})"
        scenario = {"name": "f05_learn", "match": {"user": re.escape(feedback)}, "turns": [lesson], "after": lesson}
        run = run_recorded(fn, store, output, feedback, source, scenarios=[scenario])
        shown = f"for {kind} (check seed {seed})"
        if run.error:
            return wrong(f"It raised {run.error} {shown}.")
        if len(run.requests) != 1:
            return wrong(f"It made {len(run.requests)} model calls {shown}; writing one lesson is one call.")
        sent = _sent_text(run.requests[0])
        if not (_in(feedback, sent) and _in(output, sent)):
            return wrong(f"The model was not shown both the output and the feedback {shown}: it cannot say what "
                         "to do better without them.")
        after = store.lessons()
        added = [l for l in after if l.id not in {b.id for b in before}]
        if kind.startswith("the same"):
            if added:
                return wrong(f"It stored {added[0].text!r} {shown}, although the store already holds that lesson: "
                             "compare ignoring capitals, spaces and a final full stop.")
            if run.value is not None:
                return wrong(f"It returned {run.value!r} {shown}; return None when nothing new was stored.")
            continue
        if len(added) != 1:
            return wrong(f"It stored {len(added)} lessons {shown}; store the model's one lesson.")
        new = added[0]
        if new.task != TASK or not _same(new.text, lesson) or new.source != source:
            return wrong(f"It stored (task={new.task!r}, text={new.text!r}, source={new.source!r}) {shown}; store "
                         f"the model's lesson under {TASK!r} with the source you were given.")
        if not (hasattr(run.value, "id") and getattr(run.value, "id", None) == new.id):
            return wrong(f"It returned {run.value!r} {shown}; return the Lesson that store.add gave back.")
    return passed("It writes the model's lesson with its source, and never stores a lesson the store already holds.")


EXERCISES = Exercises("f05", "Foundations 05 exercises", "F05 Memory and knowledge", lesson_notebook="notebooks/05_*.ipynb", tasks=[
    Task("citation", "Which passage answers: do I get my postage back if my parcel is late?", _check_citation,
         "a passage id such as 'returns#1', as a string",
         ("knowledge.search(question) returns passages with their ids, best first. Hint 2 says how to read "
          "them.",
          "knowledge.context(passages) prints each passage with its id. Hint 3 says what to look for.",
          "The customer says 'postage' and 'parcel'; the policy says 'shipping' and 'delivery'. Search with the "
          "policy's words.")),
    FunctionTask("recall", "Read memory around a model call, within a budget", _check_recall,
                 "a function answer_with_memory(client, store, email, max_lessons) -> the reply's text",
                 ("Three steps: read the lessons, build the system prompt, make one call. Hint 2 is about which "
                  "lessons.",
                  f"store.lessons({TASK!r}) lists this task's lessons oldest first; the newest max_lessons are at the "
                  "end of that list (careful: a slice [-0:] is the whole list). Hint 3 is about the call.",
                  "client.messages.create(model=..., max_tokens=..., system=ROLE + the lessons, one per line, "
                  "messages=[{'role': 'user', 'content': email}]); return the text of the reply's text blocks."),
                 probes=((None, None, "an email", 0),)),
    FunctionTask("learn", "Write memory: one lesson from feedback, no duplicates", _check_learn,
                 "a function learn(client, store, output, feedback, source) -> the new Lesson, or None",
                 ("One model call that sees the output and the feedback and answers with one lesson; then a look at "
                  "the store before adding. Hint 2 is about the comparison.",
                  "Two lessons are the same when they match after lower(), collapsing runs of spaces and dropping a "
                  "final full stop; compare the new one with every text in store.lessons(...). Hint 3 is about the "
                  "result.",
                  f"store.add({TASK!r}, text, source=source) returns the Lesson it stored: return that, or None when "
                  "the lesson was already there."),
                 probes=((None, None, "an output", "some feedback", "run 1 feedback"),)),
], solutions={
    "recall": """
        import agentkit

        ROLE = "You answer customer emails for Northwind Clothing's delivery desk. Sign off as 'Northwind Support'."


        def answer_with_memory(client, store, email, max_lessons):
            "Answer the email with the newest max_lessons lessons of this task in the system prompt."
            lessons = store.lessons("late_reply")
            newest = lessons[len(lessons) - max_lessons:] if max_lessons > 0 else []
            system = ROLE + "".join(f"\\n- {lesson.text}" for lesson in newest)
            response = client.messages.create(model=agentkit.DEFAULT_MODEL, max_tokens=400, system=system,
                                              messages=[{"role": "user", "content": email}])
            reply = "".join(block.text for block in response.content if block.type == "text")
            return reply
    """,
    "learn": """
        import re

        import agentkit


        def same(a, b):
            norm = lambda text: re.sub(r"\\s+", " ", text).strip().rstrip(".").strip().lower()
            return norm(a) == norm(b)


        def learn(client, store, output, feedback, source):
            "Ask for one lesson from this run's feedback; store it unless the store already holds it."
            response = client.messages.create(
                model=agentkit.FAST_MODEL, max_tokens=200,
                system="You reflect on a finished task. Write ONE short, general lesson for next time.",
                messages=[{"role": "user", "content": f"<output>{output}</output>\\n<feedback>{feedback}</feedback>"}])
            text = "".join(block.text for block in response.content if block.type == "text").strip()
            if any(same(text, known.text) for known in store.lessons("late_reply")):
                return None
            lesson = store.add("late_reply", text, source=source)
            return lesson
    """,
    "citation": """
        print(knowledge.context(knowledge.search("late delivery shipping refund")))
        my_citation = "shipping#2"
    """,
}, answers={"citation": "my_citation", "recall": "answer_with_memory", "learn": "learn"})
