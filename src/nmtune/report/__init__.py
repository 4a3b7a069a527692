"""Reports from a results store: Markdown + HTML tables, paired differences with 95 % CIs, PNG figures.

The statistics the reports use (t-tests, Holm's correction, McNemar's test, the paired bootstrap) are public here.
"""

from nmtune._internal.stats import holm, mcnemar, paired_bootstrap, t_test
from nmtune.report.aggregate import paired_differences, summarise, t_interval, unit_rows
from nmtune.report.build import ReportPaths, build_report, results_table

__all__ = [
    "ReportPaths",
    "build_report",
    "holm",
    "mcnemar",
    "paired_bootstrap",
    "paired_differences",
    "results_table",
    "summarise",
    "t_interval",
    "t_test",
    "unit_rows",
]
