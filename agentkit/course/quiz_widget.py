"""The quiz as ipywidgets: the view over a `Quiz` attempt, for JupyterLab.

All grading lives in `agentkit.course.quiz`; this module only turns widget
values into `Quiz.answer()` calls and `Feedback` into HTML. Anything the learner
gets wrong (an empty or non-numeric answer, an early submit) is shown in the
quiz's message area, never as a traceback.
"""

from __future__ import annotations

import html
import re
from typing import Any

import ipywidgets as widgets

from agentkit.course.errors import LearnerError
from agentkit.course.quiz import Feedback, Question, Quiz, QuizResult, _label

_GOOD, _BAD, _NEUTRAL = "#1a7f37", "#b42318", "#57606a"


def _md(text: str) -> str:
    """Escape text for HTML, keeping `code` spans (the only markup quiz files use)."""
    escaped = html.escape(text)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped).replace("\n", "<br>")


def _plain(text: str) -> str:
    """Text for a widget that cannot show HTML (radio buttons): `code` spans lose their backticks."""
    return re.sub(r"`([^`]+)`", r"\1", text)


_SELECT_ALL = re.compile(r"select all that apply", re.IGNORECASE)


def feedback_html(fb: Feedback) -> str:
    """One question's feedback as HTML."""
    if not fb.answered:
        color, head = _BAD, "Not answered."
    elif fb.correct is None:
        color, head = _NEUTRAL, f"Answer recorded ({html.escape(fb.given)}). You will see how you did when you submit the test."
    elif fb.correct:
        color, head = _GOOD, "✓ Correct"
    else:
        color, head = _BAD, "✗ Not quite"
    parts = [f"<div style='color:{color};font-weight:600'>{head}</div>"]
    parts += [f"<div>{_md(m)}</div>" for m in fb.messages]
    if fb.explanation:
        parts.append(f"<div style='color:{_NEUTRAL}'><i>{_md(fb.explanation)}</i></div>")
    return f"<div class='agentkit-feedback'>{''.join(parts)}</div>"


def message_html(text: str, ok: bool | None = None) -> str:
    color = _NEUTRAL if ok is None else (_GOOD if ok else _BAD)
    return f"<div class='agentkit-message' style='color:{color}'>{_md(text)}</div>"


class QuizBox(widgets.VBox):
    """The displayed quiz; its plain-text form (shown where widgets cannot render) is one line."""

    def __repr__(self) -> str:
        return getattr(self, "_agentkit_repr", "<quiz>")


class QuizWidget:
    """Widgets for one `Quiz`; `.box` is what the notebook displays."""

    def __init__(self, quiz: Quiz) -> None:
        self.quiz = quiz
        self.header = widgets.HTML()
        self.questions_box = widgets.VBox()
        self.message = widgets.HTML()  # the output area for messages and the score
        self.submit_button = widgets.Button(description="Submit test" if quiz.is_test else "Submit quiz",
                                            button_style="primary")
        self.retake_button = widgets.Button(description="Retake", layout=widgets.Layout(display="none"))
        self.submit_button.on_click(self._guard(self._on_submit))
        self.retake_button.on_click(self._guard(self._on_retake))
        self.box = QuizBox([self.header, self.questions_box,
                            widgets.HBox([self.submit_button, self.retake_button]), self.message])
        self.box._agentkit_repr = f"<{quiz.title}: run this cell in JupyterLab to take the quiz>"
        self.box.add_class("agentkit-quiz")
        self.box.add_class(f"agentkit-quiz-{quiz.id}")
        self._build()

    # ------------------------------------------------------------ building

    def _build(self) -> None:
        quiz = self.quiz
        note = ("Module test: your answers are checked when you submit the whole test "
                f"(pass mark {quiz.pass_mark:.0%})." if quiz.is_test
                else "Check each answer as you go, then submit the quiz. Retake it any time.")
        self.header.value = (f"<h3 style='margin-bottom:0'>{html.escape(quiz.title)}</h3>"
                             f"<div style='color:{_NEUTRAL}'>{html.escape(quiz.spec.lesson)} · "
                             f"{len(quiz.questions)} questions · attempt {quiz.attempt}. {note}</div>")
        self.inputs: list[Any] = []
        self.feedback: list[widgets.HTML] = []
        rows = []
        for i, q in enumerate(quiz.questions):
            ask_all = q.kind == "multiple" and not _SELECT_ALL.search(q.prompt)  # said once, not twice
            prompt = widgets.HTML(f"<div style='margin-top:0.8em'><b>{i + 1}.</b> {_md(q.prompt)}"
                                  + (" <i>(select all that apply)</i>" if ask_all else "") + "</div>")
            control = self._control(q)
            fb = widgets.HTML()
            fb.add_class("agentkit-question-feedback")
            children: list[Any] = [prompt, control]
            if not quiz.is_test:
                check = widgets.Button(description="Check answer", layout=widgets.Layout(width="auto"))
                check.on_click(self._guard(lambda _b, i=i: self._on_check(i)))
                children.append(check)
            children.append(fb)
            row = widgets.VBox(children)
            row.add_class("agentkit-question")
            rows.append(row)
            self.inputs.append(control)
            self.feedback.append(fb)
        self.questions_box.children = rows
        self.message.value = ""
        self.submit_button.disabled = False
        self.retake_button.layout.display = "none"
        self._confirm_blank: tuple[int, ...] | None = None

    @staticmethod
    def _control(q: Question) -> Any:
        wide = widgets.Layout(width="auto")
        if q.kind == "single":
            return widgets.RadioButtons(options=[(f"{_label(k)}. {_plain(c.text)}", k) for k, c in enumerate(q.choices)],
                                        value=None, layout=wide)
        if q.kind == "multiple":
            return widgets.VBox([widgets.Checkbox(value=False, description=f"{_label(k)}. {_md(c.text)}", indent=False,
                                                  description_allow_html=True, layout=wide)
                                 for k, c in enumerate(q.choices)])
        unit = f" ({q.unit})" if q.unit else ""
        return widgets.Text(placeholder=f"type a number{unit}", layout=widgets.Layout(width="16em"))

    # ------------------------------------------------------------ reading answers

    def _value(self, i: int) -> Any:
        q, control = self.quiz.questions[i], self.inputs[i]
        if q.kind == "single":
            return control.value
        if q.kind == "multiple":
            return [k for k, box in enumerate(control.children) if box.value]
        return control.value.strip()

    def _collect(self, i: int) -> None:
        """Pass question i's widget value to the quiz (an empty widget clears the answer)."""
        value = self._value(i)
        if value is None or value == "" or value == []:
            self.quiz.clear(i)
        else:
            self.quiz.answer(i, value)

    # ------------------------------------------------------------ events

    def _guard(self, handler: Any) -> Any:
        """Show any error in the message area: a widget callback's traceback would be invisible."""

        def run(*args: Any) -> None:
            try:
                handler(*args)
            except LearnerError as exc:
                self.message.value = message_html(str(exc), ok=False)
            except Exception as exc:  # noqa: BLE001 - a learner must see something, not a silent button
                self.message.value = message_html(f"Something went wrong in the quiz widget: {type(exc).__name__}: {exc}", ok=False)

        return run

    def _on_check(self, i: int) -> None:
        q = self.quiz.questions[i]
        value = self._value(i)
        if value is None or value == "" or value == []:
            hint = "type a number" if q.kind == "numeric" else "choose an answer"
            self.feedback[i].value = message_html(f"Question {i + 1}: {hint} first, then check it.", ok=False)
            return
        try:
            fb = self.quiz.answer(i, value)
        except LearnerError as exc:
            self.feedback[i].value = message_html(str(exc), ok=False)
            return
        self.feedback[i].value = feedback_html(fb)
        self.message.value = ""

    def _on_submit(self, _button: Any) -> None:
        errors = []
        for i in range(len(self.quiz.questions)):
            try:
                self._collect(i)
            except LearnerError as exc:
                errors.append(str(exc))
                self.feedback[i].value = message_html(str(exc), ok=False)
            else:
                if "agentkit-message" in self.feedback[i].value:  # an error from an earlier try, now fixed
                    self.feedback[i].value = ""
        if errors:
            self.message.value = message_html("Fix the answers marked above, then submit again.", ok=False)
            return
        blank = tuple(self.quiz.unanswered())
        if len(blank) == len(self.quiz.questions):
            self.message.value = message_html("You have not answered any question yet.", ok=False)
            return
        if blank and self._confirm_blank != blank:
            self._confirm_blank = blank
            listed = ", ".join(map(str, blank))
            self.message.value = message_html(
                f"Question{'s' if len(blank) > 1 else ''} {listed} {'are' if len(blank) > 1 else 'is'} not answered. "
                "Answer, or click Submit again to count unanswered questions as wrong.", ok=None)
            return
        self._show_result(self.quiz.submit(allow_unanswered=True))

    def _show_result(self, result: QuizResult) -> None:
        for i, fb in enumerate(result.feedback):
            self.feedback[i].value = feedback_html(fb)
        for control in self.inputs:
            for w in (control.children if isinstance(control, widgets.VBox) else [control]):
                w.disabled = True
        for row in self.questions_box.children:
            for w in row.children:
                if isinstance(w, widgets.Button):
                    w.disabled = True
        self.submit_button.disabled = True
        self.retake_button.layout.display = None
        self.message.value = message_html(result.summary(), ok=result.passed)

    def _on_retake(self, _button: Any) -> None:
        self.quiz.retake()
        self._build()
        self.message.value = message_html(f"Attempt {self.quiz.attempt}: the choices are reshuffled.", ok=None)
