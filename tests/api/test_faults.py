"""Fault injection: 429s, 500s, dropped connections and slow answers at random (fixed seed).

The client must finish with vectors identical to the local encoder's: nothing lost, nothing garbled.
"""

import httpx
import numpy as np
import pytest
from _api_helpers import server_process

from nmtune.api import ApiEncoder

pytestmark = [pytest.mark.network, pytest.mark.slow]


def test_client_completes_identically_through_faults(hash_encoder, texts):
    spec = "429=0.15,500=0.15,drop=0.1,slow=0.1,slow_s=1.0,retry_after=0.05,seed=0"
    with server_process(["--faults", spec]) as (url, _):
        enc = ApiEncoder(
            url,
            model="hash-bow",
            batch_size=8,
            max_concurrency=4,
            timeout=0.5,
            max_retries=30,
            retry_budget_s=60,
            backoff_base_s=0.02,
            backoff_max_s=0.2,
            random_state=0,
        )
        got = enc.encode(texts, progress=False)
        faults = httpx.get(f"{url}/health").json()["faults"]
    np.testing.assert_array_equal(got, hash_encoder.encode(texts, progress=False))
    assert all(faults[kind] > 0 for kind in ("429", "500", "drop", "slow")), faults
    assert enc.stats["retries"] >= faults["429"] + faults["500"] + faults["drop"]
    assert enc.stats["inputs"] == len(texts) + 1  # + the dimension probe
