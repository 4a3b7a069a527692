"""The noisy pre-training study (paper Sec. 2, App. A; Figures 2, 3, 5) at small scale: a workflow on the protocol.

For every noise rate gamma and pre-training seed, a backbone is pre-trained by :mod:`nmtune.pretrain` (or its
checkpoint reused); its downstream tasks (a suite, :mod:`nmtune.apps.study.setups`) become feature tasks, every
(task, method, fraction, downstream seed) is one protocol run (:func:`nmtune.protocol.run_one`) stored in the
study's :class:`~nmtune.results.ResultsStore`, and the verdicts, tables and figures are computed from the store
with the pre-training seed as the unit of replication (:mod:`nmtune.apps.study.summary`).

Modules: ``config`` (StudyConfig, presets), ``setups`` (suites, shift types, captions), ``backbones``
(checkpoints), ``evaluation`` (runs, zero-shot records), ``run`` (run_study, report_study), ``summary``
(per-seed tables), ``verdict`` (the rules), ``figures``, ``report`` (verdict.md, summary.json).
"""

from nmtune.apps.study.config import StudyConfig, list_study_presets, load_study_config
from nmtune.apps.study.run import check_study_folder, report_study, run_study

__all__ = [
    "StudyConfig",
    "load_study_config",
    "list_study_presets",
    "run_study",
    "report_study",
    "check_study_folder",
]
