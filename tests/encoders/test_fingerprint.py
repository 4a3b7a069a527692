"""Fingerprint helpers: file digests (memoised), folder digests, state dict digests."""

from __future__ import annotations

import hashlib

import torch

from nmtune.encoders.base import _DIGESTS, file_digest, make_fingerprint, state_dict_digest, tree_digest


def test_file_digest_is_sha256_and_memoised(tmp_path):
    p = tmp_path / "w.bin"
    p.write_bytes(b"abc" * 1000)
    assert file_digest(p) == hashlib.sha256(b"abc" * 1000).hexdigest()
    assert any(k[0].endswith("w.bin") for k in _DIGESTS)
    p.write_bytes(b"abd" * 1001)  # new size -> new key -> re-hashed
    assert file_digest(p) == hashlib.sha256(b"abd" * 1001).hexdigest()


def test_tree_digest_skips_docs_and_sees_weights(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.json").write_text("{}")
    (tmp_path / "README.md").write_text("docs")
    d = tree_digest(tmp_path)
    (tmp_path / "README.md").write_text("other docs")
    assert tree_digest(tmp_path) == d
    (tmp_path / "sub" / "a.json").write_text('{"x": 1}')
    assert tree_digest(tmp_path) != d


def test_state_dict_digest():
    a = {"w": torch.ones(3, 2), "n": torch.tensor(5)}
    assert state_dict_digest(a) == state_dict_digest({"n": torch.tensor(5), "w": torch.ones(3, 2)})
    assert state_dict_digest(a) != state_dict_digest({"w": torch.ones(2, 3), "n": torch.tensor(5)})
    b = {"w": torch.ones(3, 2), "n": torch.tensor(5)}
    b["w"][0, 0] = 1.0000001
    assert state_dict_digest(a) != state_dict_digest(b)


def test_make_fingerprint_orders_keys():
    assert make_fingerprint({"a": 1, "b": [1, 2]}) == make_fingerprint({"b": [1, 2], "a": 1})
    assert make_fingerprint({"a": 1}) != make_fingerprint({"a": 2})
