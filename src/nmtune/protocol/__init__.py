"""The downstream evaluation protocol (paper section 2.1, 3.2, App. A-B) on feature matrices.

Core: :class:`FeatureTask` (training split + named ID/OOD evaluation domains) and :func:`run_one`; a grid
(:func:`run_grid`) expands encoders x suites x methods x selection x fractions x noise x seeds, skips
runs already
in the results store and stores each finished run in one transaction.
"""

from nmtune.datasets import cap_indices
from nmtune.protocol.grid import GridResult, execute, expand_grid, run_grid
from nmtune.protocol.methods import MethodSpec, build_estimator, get_method, list_methods, register_method
from nmtune.protocol.runner import PROTOCOL_VERSION, RunSpec, library_versions, run_one
from nmtune.protocol.tasks import EvalDomain, FeatureTask, example_task, make_task

__all__ = [
    "EvalDomain",
    "FeatureTask",
    "GridResult",
    "MethodSpec",
    "PROTOCOL_VERSION",
    "RunSpec",
    "build_estimator",
    "cap_indices",
    "example_task",
    "execute",
    "expand_grid",
    "get_method",
    "library_versions",
    "list_methods",
    "make_task",
    "register_method",
    "run_grid",
    "run_one",
]
