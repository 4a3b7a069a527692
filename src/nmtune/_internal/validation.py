"""Validation written once: numbers and options, random states (and the seeds derived from them)."""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["check_number", "check_each", "check_random_state", "seed_from_random_state"]


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


def check_number(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    integer: bool = False,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
    whole_floats: bool = False,
    hint: str = "",
):
    """Validate one numeric option and return it as an ``int`` (``integer=True``) or a ``float``.

    One rule for every number nmtune accepts (head hyper-parameters, grid and study keys, client options,
    noise rates): booleans, strings, NaN and infinities are refused; an integer option refuses a float with a
    fraction (``2.7``), and a whole float (``3.0``) too unless ``whole_floats`` (config files); the bounds
    are inclusive unless ``low_open`` / ``high_open``.

    Parameters
    ----------
    name : str
        The option's name, quoted in the error (e.g. ``"epochs"`` or ``"grid key 'epochs'"``).
    value : object
        What was received.
    low, high : float, optional
        Bounds.
    integer : bool
        Whether the value must be a whole number.
    low_open, high_open : bool
        Exclude the bound itself.
    allow_none : bool
        Accept ``None`` (returned as is).
    whole_floats : bool
        For an integer option, accept a float without a fraction (``3.0``), as YAML and JSON may give.
    hint : str
        Appended to the error, e.g. ``" Use 0.1 for 10 %."``.

    Returns
    -------
    int, float or None

    Raises
    ------
    ValueError
        Naming the option, the accepted range and the value received.
    """
    if value is None and allow_none:
        return None
    what = "an integer" if integer else "a number"
    bounds = []
    if low is not None:
        bounds.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        bounds.append(f"{'<' if high_open else '<='} {high}")
    expected = (
        f"{name} must be {what}"
        + (f" {' and '.join(bounds)}" if bounds else "")
        + (" or null" if allow_none else "")
    )
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{expected}; received {type(value).__name__} {value!r}.{hint}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; received {value!r}.{hint}")
    received = value
    if integer:
        if not isinstance(value, numbers.Integral):
            if not whole_floats or float(value) != int(value):
                why = ", which has a fraction" if float(value) != int(value) else ""
                raise ValueError(f"{expected}; received {received!r}{why}.{hint}")
        value = int(value)
    else:
        value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(f"{expected}; received {received!r}.{hint}")
    return value


def check_each(name: str, values, **bounds) -> tuple:
    """:func:`check_number` on every entry of ``values`` (named ``"each of <name>"``); returns them as a tuple."""
    return tuple(check_number(f"each of {name}", v, **bounds) for v in values)
