"""agentkit.patterns: the four design patterns of lessons 07-10, each run, traced and measured.

- `reflection`: generate, check, revise (a critic, or external feedback: a schema validator, tests, a
  citation check), with a cap on passes;
- `planning`: JSON plans checked by guardrails before they run, and code as plan run out of process;
- `multi_agent`: roles with scoped tools, typed handoffs, four communication patterns, the topology
  read back from a trace;
- `decomposition`: splitting big work by function, space, time or data, and running the pieces.

`measure` holds what they share: `Cost` (tokens, dollars, seconds, added up the way the work ran) and
`Meter` (the middleware that times each call). `examples` holds the lessons' cases as data.
"""

from agentkit.patterns.measure import Cost, Meter

__all__ = ["Cost", "Meter"]
