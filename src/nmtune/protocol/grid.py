"""Run a grid of runs: expand the configuration, skip what the store holds, execute, store each result.

Execution is in the driver process (``n_jobs=1``), in local worker processes (``n_jobs > 1``,
:class:`concurrent.futures.ProcessPoolExecutor`; the feature tasks are sent once per worker), or on a Ray
cluster
(``backend="ray"``). In every case only the driver writes to the store, one transaction per finished run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nmtune._internal.pool import imap_processes
from nmtune.exceptions import require
from nmtune.protocol.config import GridConfig, method_name_and_params
from nmtune.protocol.cost import estimate_run_cost
from nmtune.protocol.methods import build_estimator, get_method
from nmtune.protocol.runner import RunSpec, run_one
from nmtune.protocol.tasks import FeatureTask
from nmtune.results import ResultsStore
from nmtune.results.store import ReadOnlyStoreError

__all__ = ["GridResult", "expand_grid", "run_grid", "execute", "grid_feature_tasks"]


@dataclass(frozen=True)
class GridResult:
    """What :func:`run_grid` did.

    Attributes
    ----------
    store_path : str
        The results store.
    n_total, n_skipped, n_done, n_failed : int
        Runs in the grid, already done before (skipped), completed now, failed now.
    run_ids : tuple of str
        Every run id of the grid, in grid order.
    """

    store_path: str
    n_total: int
    n_skipped: int
    n_done: int
    n_failed: int
    run_ids: tuple[str, ...]


def expand_grid(config: GridConfig, tasks: Iterable[FeatureTask]) -> list[RunSpec]:
    """Every :class:`RunSpec` of the grid over the given feature tasks, in a fixed order.

    Parameters
    ----------
    config : GridConfig
        Methods, selection modes, fractions, seeds, noise rates and options.
    tasks : iterable of FeatureTask
        The tasks (their ``encoder``/``suite``/``name`` enter each run's identity).

    Returns
    -------
    list of RunSpec
    """
    entries = [method_name_and_params(m) for m in config.methods]
    for name, _ in entries:
        get_method(name)  # unknown names fail before anything runs
    budgets = {name: _min_steps(name, params, config.min_steps) for name, params in entries}
    specs = []
    for task in tasks:
        for method, params in entries:
            for selection in config.selection:
                for fraction in config.fractions:
                    for noise in config.noise_rates:
                        for seed in config.seeds:
                            specs.append(
                                RunSpec(
                                    encoder=task.encoder,
                                    suite=task.suite,
                                    task=task.name,
                                    method=method,
                                    params=tuple(sorted(params.items())),
                                    selection=selection,
                                    fraction=float(fraction),
                                    seed=int(seed),
                                    noise=float(noise),
                                    epochs=config.epochs,
                                    min_steps=budgets[method],
                                    val_fraction=config.val_fraction,
                                    device=config.device,
                                    max_train=config.max_train,
                                    max_eval=config.max_eval,
                                    pretrain_noise=config.pretrain_noise.get(task.encoder),
                                )
                            )
    return specs


def run_grid(
    config: GridConfig,
    *,
    tasks: Sequence[FeatureTask] | None = None,
    store: ResultsStore | str | None = None,
    progress: bool = True,
) -> GridResult:
    """Run (or resume) a grid and store every result.

    Parameters
    ----------
    config : GridConfig
        The grid.
    tasks : sequence of FeatureTask, optional
        Feature tasks to run on. When omitted they are built from ``config``'s (encoder, suite) pairs
        through the
        feature cache (:func:`nmtune.protocol.suite_feature_tasks`).
    store : ResultsStore or path, optional
        Where results go (default: ``config.store``).
    progress : bool
        Show progress bars.

    Returns
    -------
    GridResult
    """
    file_tasks = None
    if tasks is None:  # names and feature files are checked first: nothing is created for a wrong grid
        file_tasks = _check_grid(config)
    own = not isinstance(store, ResultsStore)
    # the store is opened (and a foreign, unreadable or unwritable one refused) before anything is encoded
    st = ResultsStore(store if store is not None else config.store) if own else store
    try:
        if st.readonly and not st.done_ids():
            raise ReadOnlyStoreError(
                f"The results store {str(st.path)!r} is read-only and holds no finished run, so the grid cannot "
                "store anything in it. Make it writable or point --store / store: at a writable path."
            )
        if tasks is None:
            tasks = grid_feature_tasks(config, progress=progress, file_tasks=file_tasks)
        specs = expand_grid(config, tasks)
        if st.readonly:
            todo = {s.run_id for s in specs} - st.done_ids()
            if todo:
                raise ReadOnlyStoreError(
                    f"The results store {str(st.path)!r} is read-only and {len(todo)} of the grid's "
                    f"{len({s.run_id for s in specs})} runs are not in it yet. Make it writable, or copy it to a "
                    "writable place and point --store / store: at the copy (its stored runs are reused)."
                )
        else:
            st.set_meta("last_grid", config.to_dict())
        return execute(
            specs,
            tasks,
            st,
            n_jobs=config.n_jobs,
            backend=config.backend,
            ray_address=config.ray_address,
            progress=progress,
            threads_per_run=config.threads_per_run,
        )
    finally:
        if own:
            st.close()


def _check_grid(config: GridConfig) -> list[FeatureTask]:
    """Check a grid's names (nothing encoded) and read its feature files; returns its file tasks."""
    if not config.encoder_suite_pairs() and not config.file_tasks:
        raise ValueError(
            "The grid names nothing to run: give encoders and suites, pairs, or file_tasks (feature files)."
        )
    if config.encoder_suite_pairs():
        from nmtune.protocol.feature_tasks import check_grid_names

        check_grid_names(config)
    if not config.file_tasks:
        return []
    from nmtune.protocol.file_tasks import file_feature_tasks

    return file_feature_tasks(config.file_tasks)


def grid_feature_tasks(
    config: GridConfig, *, progress: bool = True, file_tasks: list[FeatureTask] | None = None
) -> list[FeatureTask]:
    """Every feature task of a grid: its (encoder, suite) pairs through the cache, then its ``file_tasks``.

    Parameters
    ----------
    config : GridConfig
        The grid.
    progress : bool
        Progress bars while encoding.
    file_tasks : list of FeatureTask, optional
        The grid's file tasks when already read (else read now).

    Returns
    -------
    list of FeatureTask
    """
    if file_tasks is None:
        file_tasks = _check_grid(config)
    tasks: list[FeatureTask] = []
    if config.encoder_suite_pairs():
        from nmtune.protocol.feature_tasks import config_feature_tasks

        tasks.extend(config_feature_tasks(config, progress=progress))
    return tasks + list(file_tasks)


def execute(
    specs: Sequence[RunSpec],
    tasks: Sequence[FeatureTask],
    store: ResultsStore,
    *,
    n_jobs: int = 1,
    backend: str = "local",
    ray_address: str | None = None,
    progress: bool = True,
    threads_per_run: int = 1,
) -> GridResult:
    """Execute the runs not yet done in ``store``, writing each result as soon as it finishes.

    Every run executes with ``threads_per_run`` torch and BLAS threads, in this process (``n_jobs=1``) and in
    worker processes alike, so that a record does not depend on ``n_jobs``: float sums split over a different
    number of threads round differently, which changed spectra in the last digits and, rarely, a prediction.

    Parameters
    ----------
    specs : sequence of RunSpec
        Runs of the grid.
    tasks : sequence of FeatureTask
        Tasks the specs refer to (by ``task.key``).
    store : ResultsStore
        Results store (written by this process only).
    n_jobs : int
        Worker processes (local backend).
    backend : {"local", "ray"}
        Execution backend.
    ray_address : str, optional
        Ray cluster address (``None``: start a local instance).
    progress : bool
        Show a progress bar over runs.
    threads_per_run : int
        Torch and BLAS threads of each run (serial and parallel alike).

    Returns
    -------
    GridResult
    """
    from tqdm.auto import tqdm

    by_key = {t.key: t for t in tasks}
    missing = {s.task_key for s in specs} - set(by_key)
    if missing:
        raise ValueError(f"Runs refer to tasks that were not given: {sorted(missing)}.")
    seen, unique = set(), []
    for s in specs:
        if s.run_id not in seen:
            seen.add(s.run_id)
            unique.append(s)
    done = store.done_ids()
    todo = [s for s in unique if s.run_id not in done]
    counts = {"done": 0, "failed": 0}
    # the bar advances by each run's estimated cost, so its ETA does not extrapolate from the longest runs
    costs = {s.run_id: estimate_run_cost(s, by_key[s.task_key]) for s in todo}
    total = sum(costs.values()) or 1.0
    bar = tqdm(
        total=100.0,
        desc="runs",
        disable=not progress or not todo,
        dynamic_ncols=True,
        smoothing=0,  # the ETA from the average rate since the start: runs differ too much for a moving one
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix} [{elapsed}<{remaining}]",
    )
    bar.set_postfix_str(f"0/{len(todo)} runs", refresh=False)

    def _store(record):
        store.put(record)
        counts[record["status"]] += 1
        bar.update(100.0 * costs.get(record["run_id"], 0.0) / total)
        cfg = record["config"]
        finished = counts["done"] + counts["failed"]
        bar.set_postfix_str(
            f"{finished}/{len(todo)} runs, last {cfg['task']}/{cfg['method']} {record['status']}",
            refresh=False,
        )

    try:
        if backend == "ray":
            _run_ray(todo, by_key, _store, ray_address)
        elif n_jobs <= 1 or len(todo) <= 1:
            import torch
            from threadpoolctl import threadpool_limits

            before = torch.get_num_threads()
            torch.set_num_threads(threads_per_run)
            try:
                with threadpool_limits(threads_per_run):
                    for s in todo:
                        _store(run_one(by_key[s.task_key], s))
            finally:
                torch.set_num_threads(before)
        else:
            todo = sorted(todo, key=lambda s: -costs[s.run_id])
            _run_processes(todo, by_key, _store, n_jobs, threads_per_run)
    finally:
        bar.close()
    return GridResult(
        str(store.path),
        len(unique),
        len(unique) - len(todo),
        counts["done"],
        counts["failed"],
        tuple(s.run_id for s in unique),
    )


# -- local processes ---------------------------------------------------------------------------------------
_WORKER_TASKS: dict = {}


def _min_steps(method: str, params: dict, override: int | None) -> int | None:
    """The step budget a run of ``method`` trains with, resolved now so that it enters the run id.

    ``None`` for methods without one (``logreg``). A later change of a head's default then gives new run ids
    instead of silently reusing results trained with the old budget.
    """
    if override is not None:
        return int(override)
    est = build_estimator(method, {k: v for k, v in params.items() if k != "min_steps"})
    value = params.get("min_steps", est.get_params().get("min_steps") if hasattr(est, "get_params") else None)
    return None if value is None else int(value)


def limit_worker_threads(n_threads: int) -> None:
    """Cap torch and every native thread pool (BLAS, OpenMP) of this worker process, for its lifetime."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n_threads)
    threadpool_limits(n_threads)


def _init_worker(tasks: dict, n_threads: int) -> None:
    limit_worker_threads(n_threads)
    _WORKER_TASKS.clear()
    _WORKER_TASKS.update(tasks)


def _worker_run(spec: RunSpec) -> dict:
    return run_one(_WORKER_TASKS[spec.task_key], spec)


def _run_processes(todo, by_key, store_fn, n_jobs: int, n_threads: int = 1) -> None:
    needed = {s.task_key: by_key[s.task_key] for s in todo}
    for _, record in imap_processes(
        _worker_run, todo, n_jobs=n_jobs, initializer=_init_worker, initargs=(needed, n_threads)
    ):
        store_fn(record)  # finished runs are stored at once; an interruption terminates the workers


# -- Ray ---------------------------------------------------------------------------------------------------
def _run_ray(todo, by_key, store_fn, address) -> None:
    ray = require("ray", "ray", "running a grid on a Ray cluster")
    started = False
    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False, include_dashboard=False)
        started = True
    try:
        remote_run = ray.remote(run_one)
        refs = {key: ray.put(by_key[key]) for key in {s.task_key for s in todo}}
        pending = [remote_run.remote(refs[s.task_key], s) for s in todo]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for r in ready:
                store_fn(ray.get(r))
    finally:
        if started and address is None:
            ray.shutdown()
