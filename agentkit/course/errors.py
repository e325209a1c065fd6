"""Learner-facing errors: a wrong or empty answer deserves a sentence, not a traceback.

Quizzes, labs and the progress store raise `LearnerError` (or a subclass) for
anything the learner can fix. In IPython/Jupyter the error renders as one clear
line instead of a stack of library frames: IPython calls an exception's
`_render_traceback_()` when it has one (the hook IPython itself documents for
exceptions that want custom display).
"""

from __future__ import annotations


class LearnerError(ValueError):
    """Something the learner (or a course author) can fix; the message says how."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]
