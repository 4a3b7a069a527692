import numpy as np
import pytest

from nmtune._internal.validation import check_random_state, seed_from_random_state


@pytest.mark.parametrize("state", [None, 0, 7, np.random.default_rng(1), np.random.RandomState(2)])
def test_every_accepted_random_state_gives_a_generator(state):
    assert isinstance(check_random_state(state), np.random.Generator)
    assert isinstance(seed_from_random_state(state), int)


def test_ints_are_reproducible_and_generators_passed_through():
    assert check_random_state(3).integers(1000) == check_random_state(3).integers(1000)
    g = np.random.default_rng(0)
    assert check_random_state(g) is g and seed_from_random_state(5) == 5


@pytest.mark.parametrize(
    "bad,exc", [(-1, ValueError), ("seed", TypeError), (True, TypeError), (1.5, TypeError)]
)
def test_bad_random_states_are_refused(bad, exc):
    with pytest.raises(exc, match="random_state must be"):
        check_random_state(bad)
