"""Reports from a results store: Markdown + HTML tables, paired differences with 95 % CIs, PNG figures."""

from nmtune.report.aggregate import paired_differences, summarise, t_interval, unit_rows
from nmtune.report.build import ReportPaths, build_report, results_table

__all__ = [
    "ReportPaths",
    "build_report",
    "paired_differences",
    "results_table",
    "summarise",
    "t_interval",
    "unit_rows",
]
