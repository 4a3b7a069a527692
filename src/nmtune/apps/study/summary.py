"""From the study's results store to per-backbone values: one number per (method, noise rate, pre-training seed).

The unit of replication is the **pre-training seed**: the study's runs are reduced with
:func:`nmtune.report.aggregate.unit_means` (``unit="pretrain_seed"``), averaging within each seed over the
downstream tasks, the training fractions and the downstream (head) seeds nested in it. Tasks are never units.
ID values average the tasks' ID domains, OOD values the tasks' OOD domains (each run first averages its own
domains of that kind, :func:`nmtune.report.aggregate.unit_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["StudyData", "study_rows", "UNIT", "WITHIN"]

#: The unit of replication of every study claim, and the fields averaged within it.
UNIT = "pretrain_seed"
WITHIN = ("task", "fraction", "seed")
_IGNORE = ("encoder",)  # one label per backbone: matched on, never a setting


def study_rows(records: list[dict], backbones: dict) -> list[dict]:
    """:func:`~nmtune.report.aggregate.unit_rows` of the study's records, with the pre-training seed of each.

    Parameters
    ----------
    records : list of dict
        Run records of the study's current runs.
    backbones : dict
        ``label -> info`` (:class:`~nmtune.apps.study.backbones.Backbone` ``info``: ``gamma``, ``seed``).

    Returns
    -------
    list of dict
    """
    from nmtune.report.aggregate import unit_rows

    rows = unit_rows(records)
    for r in rows:
        r[UNIT] = int(backbones[r["encoder"]]["seed"])
    return rows


@dataclass
class StudyData:
    """The study's unit rows and backbone facts, with per-seed tables for the rules and figures.

    Attributes
    ----------
    rows : list of dict
        :func:`study_rows`.
    backbones : dict
        ``label -> info`` of every backbone.
    gammas, seeds : tuple
        Noise rates and pre-training seeds, sorted.
    methods : tuple of str
        Methods present (``"zero-shot"`` included for image-caption backbones).
    tasks : tuple of str
        Downstream tasks.
    """

    rows: list
    backbones: dict
    gammas: tuple = field(init=False)
    seeds: tuple = field(init=False)
    methods: tuple = field(init=False)
    tasks: tuple = field(init=False)

    def __post_init__(self) -> None:
        self.gammas = tuple(sorted({float(b["gamma"]) for b in self.backbones.values()}))
        self.seeds = tuple(sorted({int(b["seed"]) for b in self.backbones.values()}))
        self.methods = tuple(dict.fromkeys(r["method"] for r in self.rows))
        from nmtune.apps.study.setups import SHIFTS

        order = list(SHIFTS)  # the set-ups' task order; tasks of other suites after them, as they come
        found = list(dict.fromkeys(r["task"] for r in self.rows))
        self.tasks = tuple(
            sorted(found, key=lambda t: (order.index(t) if t in order else len(order), found.index(t)))
        )

    def table(self, method: str, metric: str, *, tasks=None, fractions=None) -> np.ndarray:
        """Per-seed values of ``metric`` for ``method``: array (G, S), gammas x seeds, NaN where missing.

        Parameters
        ----------
        method : str
            A method of the study.
        metric : str
            A unit-row field: ``id_accuracy``, ``ood_accuracy``, ``id_macro_f1``, ``ood_macro_f1``, ``id_sve``,
            ``ood_lsvr``, ...
        tasks : collection of str, optional
            Keep only these tasks (e.g. those of one OOD shift type).
        fractions : collection of float, optional
            Keep only these training fractions.
        """
        from nmtune.report.aggregate import unit_means

        rows = [
            r
            for r in self.rows
            if r["method"] == method
            and (tasks is None or r["task"] in tasks)
            and (fractions is None or r["fraction"] in fractions)
        ]
        out = np.full((len(self.gammas), len(self.seeds)), np.nan)
        # settings differ only in the noise rate here (one method, one study configuration)
        by_gamma: dict = {}
        values, settings = unit_means(rows, metric, unit=UNIT, within=WITHIN, ignore=_IGNORE)
        for key, per_seed in values.items():
            g = float(settings[key]["pretrain_noise"])
            if g in by_gamma:
                raise ValueError(
                    f"Two settings of {method!r} at gamma {g:g} ({by_gamma[g]} and {settings[key]}): the study's "
                    "records must differ only in their noise rate."
                )
            by_gamma[g] = settings[key]
            for s, v in per_seed.items():
                if g in self.gammas and s in self.seeds:
                    out[self.gammas.index(g), self.seeds.index(s)] = v
        return out

    def domain_table(self, records, method: str, domain: str, metric: str = "accuracy") -> np.ndarray:
        """One test domain's ``metric`` for ``method``: array (G, S), the mean over the runs that evaluate it.

        A domain shared by two tasks (``mnist-5k`` is one task's ID and the other's OOD test set) is one domain.
        """
        out = np.full((len(self.gammas), len(self.seeds)), np.nan)
        cells: dict = {}
        for r in records:
            c = r["config"]
            if (
                c["method"] != method
                or domain not in r.get("domains", {})
                or c["encoder"] not in self.backbones
            ):
                continue
            b = self.backbones[c["encoder"]]
            cells.setdefault((float(b["gamma"]), int(b["seed"])), []).append(r["domains"][domain][metric])
        for (g, s), v in cells.items():
            out[self.gammas.index(g), self.seeds.index(s)] = float(np.mean(v))
        return out

    def backbone_table(self, key: str) -> np.ndarray:
        """A backbone fact (e.g. ``clean_test_accuracy``) as an array (G, S)."""
        out = np.full((len(self.gammas), len(self.seeds)), np.nan)
        for b in self.backbones.values():
            if b.get(key) is not None:
                out[self.gammas.index(float(b["gamma"])), self.seeds.index(int(b["seed"]))] = b[key]
        return out

    def tasks_of_shift(self, shift: str) -> tuple[str, ...]:
        """Tasks whose OOD domains are of the given shift type (:data:`nmtune.apps.study.setups.SHIFTS`).

        A task that table does not list (e.g. an ``images`` set-up's task) is a shift type of its own.
        """
        from nmtune.apps.study.setups import SHIFTS

        return tuple(t for t in self.tasks if SHIFTS.get(t, t) == shift)

    def shifts(self) -> tuple[str, ...]:
        """The OOD shift types of the study's tasks that have OOD results, in task order."""
        from nmtune.apps.study.setups import SHIFTS

        with_ood = {
            r["task"] for r in self.rows if np.isfinite(np.nan if (v := r.get("ood_accuracy")) is None else v)
        }
        return tuple(dict.fromkeys(SHIFTS.get(t, t) for t in self.tasks if t in with_ood))
