"""Every registered head with a tiny step budget, for tests that run over :func:`nmtune.heads.list_heads`."""

from nmtune.heads import create_head, get_head

FAST_LP = {"epochs": 4, "min_steps": 0, "batch_size": 32, "lr": 0.05}
#: The step budget of NMTuneCV's torch candidates in the robust-head tests.
CV_BUDGET = {"epochs": 2, "min_steps": 10}
FAST_NM = {"epochs": 4, "min_steps": 0, "batch_size": 32, "lr": 1e-2, "hidden_dim": 32}


def fast_params(name: str, **overrides) -> dict:
    """Constructor arguments that make head ``name`` fit in well under a second on ~200 rows."""
    spec = get_head(name)
    params = {}
    if "random_state" in spec.params:
        params["random_state"] = 0
    if "device" in spec.params:
        params["device"] = "cpu"
    if spec.cls is not None and spec.cls.__name__ == "NMTuneCV":
        params.update(cv=2, Cs=(0.1, 1.0), lp_params=FAST_LP, nmtune_params=FAST_NM)
    elif spec.neural:
        params.update(FAST_LP if name == "lp" else {k: v for k, v in FAST_NM.items() if k in spec.params})
    if spec.cls is not None and spec.cls.__name__ == "LogRegCV":
        params.update(cv=3, Cs=(0.1, 1.0))
    params.update(overrides)
    return params


def fast_head(name: str, **overrides):
    """An unfitted head ``name`` with :func:`fast_params`."""
    return create_head(name, **fast_params(name, **overrides))
