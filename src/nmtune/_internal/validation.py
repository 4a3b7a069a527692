"""Validation written once: random states (and the seeds derived from them)."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_random_state", "seed_from_random_state"]


def check_random_state(random_state) -> np.random.Generator:
    """A ``numpy.random.Generator`` from ``None``, a non-negative int, a Generator or a legacy RandomState.

    Never touches numpy's global RNG. A Generator is returned as is (its state advances with use); a RandomState
    seeds a new Generator from one draw.

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState

    Returns
    -------
    numpy.random.Generator
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(int(random_state.randint(2**31 - 1)))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative int; received {random_state}.")
        return np.random.default_rng(int(random_state))
    raise TypeError(
        f"random_state must be None, a non-negative int, a numpy.random.Generator or a RandomState; received "
        f"{type(random_state).__name__} ({random_state!r})."
    )


def seed_from_random_state(random_state) -> int:
    """An int seed for torch generators derived from a random state.

    The int itself; one draw from a Generator or RandomState; fresh entropy for ``None``.
    """
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative int; received {random_state}.")
        return int(random_state)
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    return int(check_random_state(random_state).integers(2**63 - 1))
