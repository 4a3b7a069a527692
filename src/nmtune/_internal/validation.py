"""Validation written once: numbers and options, class labels, random states (and the seeds derived from them)."""

from __future__ import annotations

import math
import numbers
import sys

import numpy as np

__all__ = [
    "check_number",
    "check_each",
    "check_labels",
    "encode_labels",
    "check_random_state",
    "seed_from_random_state",
]


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


#: Label cells that mean "no label" (compared case-insensitively, after stripping spaces): never a class.
MISSING_LABEL_WORDS = ("", "nan", "none", "null", "na", "n/a", "<na>", "nat")


def _is_missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    if isinstance(value, str | np.str_):
        return value.strip().lower() in MISSING_LABEL_WORDS
    pandas = sys.modules.get("pandas")  # pandas.NA / NaT, when labels came through pandas
    return pandas is not None and (value is pandas.NA or value is pandas.NaT)


def _as_number(value):
    """An int or float when ``value`` is a number or a string holding one; else None."""
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, numbers.Real):
        return value
    if isinstance(value, str | np.str_ | bytes):
        text = value.decode() if isinstance(value, bytes) else str(value)
        try:
            return int(text.strip())
        except ValueError:
            try:
                number = float(text.strip())
            except ValueError:
                return None
            return number
    return None


def check_labels(y, *, what: str = "labels", source: str = "") -> np.ndarray:
    """The one validation of class labels (heads, feature files, labels files, the CLI, feature tasks).

    Labels are class names: integers or strings. Refused with a message saying what to do: missing labels
    (``None``, NaN, empty cells, and the words ``nan`` / ``none`` / ``null`` / ``na`` / ``n/a`` in any case:
    they never become a class), continuous values (numbers with a fraction: a regression target, not classes),
    and anything that is not one label per row.

    Parameters
    ----------
    y : array-like of shape (N,)
        The labels as read (numbers, strings, numeric strings from a CSV, objects).
    what : str
        What they are, quoted in errors (e.g. ``"y"``, ``"the labels of train.csv"``).
    source : str
        A file they came from, quoted in errors.

    Returns
    -------
    numpy.ndarray of shape (N,)
        ``int64`` when every label is a whole number (also ``"3"`` or ``3.0``), else ``str``.

    Raises
    ------
    ValueError
        Missing or continuous labels, or a shape other than (N,).
    """
    where = f" (in {source})" if source else ""
    arr = np.asarray(y, dtype=object) if not isinstance(y, np.ndarray) else y
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{what}{where} must be 1-D, one label per row; received shape {arr.shape}.")
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and np.isfinite(arr).all() and (arr == np.round(arr)).all():
        return arr.astype(np.int64)  # the common case, without a Python loop
    values = arr.tolist()
    missing = [i for i, v in enumerate(values) if _is_missing(v)]
    if missing:
        first = missing[0]
        raise ValueError(
            f"{what}{where}: {len(missing)} missing label(s) (first at row {first}: {values[first]!r}); "
            "a missing label is not a class. Drop those rows (features and labels together) or fill them in."
        )
    numbers_ = [_as_number(v) for v in values]
    if numbers_ and all(n is not None for n in numbers_):
        infinite = [v for v, n in zip(values, numbers_) if not math.isfinite(n)]
        if infinite:
            raise ValueError(
                f"{what}{where}: infinite values (e.g. {infinite[0]!r}) are not class labels; labels are "
                "integers or strings."
            )
        fractional = [v for v, n in zip(values, numbers_) if float(n) != int(n)]
        if fractional:
            examples = ", ".join(map(repr, list(dict.fromkeys(fractional))[:3]))
            raise ValueError(
                f"Unknown label type: continuous. {what}{where} must hold class labels (integers or strings), not "
                f"continuous values; received e.g. {examples}. nmtune heads are classifiers: bin a continuous "
                "target into classes first (e.g. numpy.digitize)."
            )
        return np.asarray([int(n) for n in numbers_], dtype=np.int64)
    return np.asarray([v.decode() if isinstance(v, bytes) else str(v) for v in values], dtype=str)


def encode_labels(y, *, what: str = "labels", source: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Checked labels (:func:`check_labels`) as ``(classes, codes)``: sorted classes and int64 codes in [0, C)."""
    checked = check_labels(y, what=what, source=source)
    classes, codes = np.unique(checked, return_inverse=True)
    return classes, codes.astype(np.int64)
