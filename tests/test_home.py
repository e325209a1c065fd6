"""The course home: every lesson listed with its quiz and lab, progress shown, every link resolving."""

from __future__ import annotations

import re
from pathlib import Path

from agentkit.course.home import course_map, home_markdown
from agentkit.course.lab import Lab

ROOT = Path(__file__).resolve().parent.parent


def test_every_lesson_notebook_is_on_the_map():
    lessons = {e.lesson for e in course_map(ROOT)}
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        assert nb.relative_to(ROOT).as_posix() in lessons, f"{nb.name} is missing from the course home"
    labs = {e.lab for e in course_map(ROOT) if e.lab}
    for nb in (ROOT / "labs").glob("*.ipynb"):
        assert nb.relative_to(ROOT).as_posix() in labs, f"{nb.name} is missing from the course home"


def test_every_link_on_the_home_resolves(progress_db):
    links = re.findall(r"\]\(([^)]+)\)", home_markdown(ROOT))
    assert links and all((ROOT / link).is_file() for link in links), links


def test_progress_shows_on_the_home(progress_db):
    before = home_markdown(ROOT)
    assert "not taken yet" in before and "not started" in before
    from agentkit import Quiz

    quiz = Quiz.load("l1_trace_layer")
    for n, q in enumerate(quiz.questions):
        quiz.answer(n, next(k for k, c in enumerate(q.choices) if c.correct) if q.kind == "single"
                    else [k for k, c in enumerate(q.choices) if c.correct])
    quiz.submit()
    lab = Lab.load("l2_token_cost")
    lab.check(lab.tasks[0].id, 0)  # a wrong answer is a check, not a pass
    after = home_markdown(ROOT)
    row = next(line for line in after.splitlines() if "Trace Layer" in line)
    assert "best 100%" in row
    row = next(line for line in after.splitlines() if "l2_token_cost" in line)
    assert f"0 of {len(lab.tasks)} tasks passed" in row


def test_lessons_show_their_exercises_and_expected_time(progress_db):
    from agentkit import exercises
    from agentkit.course.home import course_map, home_markdown, lesson_minutes

    entries = {e.lesson: e for e in course_map() if e.lesson}
    f03 = entries["notebooks/03_choosing_agent_work.ipynb"]
    assert f03.exercises == "f03" and f03.minutes and f03.minutes % 5 == 0
    tasks = len(exercises.load("f03").tasks)
    # more exercises, more time: the estimate counts the writing, not only the reading
    path = ROOT / f03.lesson
    assert lesson_minutes(path, tasks + 5) > lesson_minutes(path, tasks)
    lab = exercises.load("f03")
    lab.check(lab.tasks[0].id, ...)  # a placeholder passes nothing
    assert f"0 of {tasks} passed" in home_markdown()
