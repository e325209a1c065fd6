"""Lab definitions: one module per lab, each defining `LAB = Lab(...)`.

`agentkit.Lab.load("<module name>")` finds them here; the matching notebooks
are `labs/src/<lab id>.ipynb` (reference, with solutions) and
`labs/<lab id>.ipynb` (the learner version `build_labs` generates).
"""
