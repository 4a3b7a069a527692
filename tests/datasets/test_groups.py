"""Source sub-domains of dataset rows: the newsgroup of every 20ng-sub document, capped or not."""

import pytest

from nmtune.datasets import dataset_groups, load_dataset
from nmtune.exceptions import MissingDependencyError


def _load(name, split):
    try:
        return load_dataset(name, split)
    except MissingDependencyError as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("name", ["20ng-sub:comp-rec:source", "cap:300:20ng-sub:sci-talk:target"])
def test_20ng_subgroups_rows_carry_their_newsgroup(name):
    ds = _load(name, "test")
    groups = dataset_groups(name, "test")
    assert groups.shape == (len(ds),)
    for label, group_name in enumerate(ds.class_names):
        newsgroups = set(groups[ds.labels == label])
        assert len(newsgroups) >= 2 and all(g.split(".")[0] == group_name for g in newsgroups)


def test_datasets_without_sub_domains_have_none():
    _load("reuters-r8", "test")
    assert dataset_groups("reuters-r8", "test") is None
    assert dataset_groups("cap:50:reuters-r8", "test") is None
