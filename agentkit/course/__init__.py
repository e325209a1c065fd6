"""The course machinery: quizzes, labs, the tutor and the learner's progress store.

Each concept has its own module (`quiz`, `quiz_widget`, `progress`, `lab`, `tutor`);
the public names are re-exported lazily from `agentkit` itself, so importing this
package costs nothing until a notebook asks for a quiz or a lab.
"""

from __future__ import annotations

from agentkit.course.errors import LearnerError

__all__ = ["LearnerError"]
