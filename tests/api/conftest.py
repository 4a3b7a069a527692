import pytest
from _api_helpers import HashEncoder, make_texts, server_process

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

API_KEY = "test-key-123"


@pytest.fixture(scope="session")
def hash_encoder():
    return HashEncoder(32)


@pytest.fixture(scope="session")
def texts():
    return make_texts(300)


@pytest.fixture(scope="session")
def hash_server():
    """A HashEncoder server in a subprocess with auth and small limits: (base_url, api_key)."""
    args = ["--api-key", API_KEY, "--max-batch", "64", "--max-request-bytes", "65536"]
    with server_process(args) as (url, _):
        yield url, API_KEY
