"""The course's case studies, rebuilt so a learner can measure them.

Each module rebuilds one story the course tells (named teams and dates cannot
be checked, so the lessons say "as the course tells it") as a runnable agent on
the simulator: the same tools, the same slow spot, and the fix. The learner
finds the cause with the lesson's own tools rather than taking the numbers on
trust.

- `research_agent`: Lesson 1's research agent that spends 34 of its 47 seconds
  in vector-database queries made one after another (`build_research_agent`).
- `coding_agent`: Lesson 2's coding agent that sends over 400,000 tokens on a
  20-step task whose reasoning is under 50,000, and its two fixes: summarising
  completed steps and caching the repeated prefix (`run_case`).
- `essay`: the essay task of Foundations 03-04 at three levels of autonomy on a
  small offline web, and its scripted pipeline (v1 with two bugs, v2 fixed).
- `support`: the retail support desk of Foundations 03-06 (the stock
  assistant, the late-order email, the replies the guardrails lesson checks).
- `support_desk`: Lesson 4's support agent with a labelled task set, too
  expensive and too slow at 1,000 conversations a minute until caching,
  routing and a fallback are chosen (`evaluate_config`, Lab 4).
"""
