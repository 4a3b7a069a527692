import json

import pytest

from nmtune.datasets import dataset_splits, load_dataset
from nmtune.datasets.images import fashion_mnist_available
from nmtune.suites import get_suite, list_suites, suite_from_dict


def test_builtin_suites_listed():
    assert set(list_suites()) >= {"id", "r8", "20ng-subgroups", "digits", "fashion-c"}


@pytest.mark.parametrize("name", list_suites())
def test_every_reference_resolves(name):
    suite = get_suite(name, skip_unavailable=False)
    assert suite.name == name and suite.tasks
    for task in suite.tasks:
        refs = [task.train] + [d.data for d in task.evals]
        for ref in refs:
            assert ref.split in dataset_splits(ref.dataset), (name, ref)
        assert {d.kind for d in task.evals} <= {"id", "ood"}


def test_suite_shapes():
    assert len(get_suite("20ng-subgroups").tasks) == 6
    digits = get_suite("digits")
    assert [t.name for t in digits.tasks] == ["mnist-to-optdigits", "optdigits-to-mnist"]
    fc = get_suite("fashion-c", skip_unavailable=False).tasks[0]
    assert len([d for d in fc.evals if d.kind == "ood"]) == 12
    assert [t.name for t in get_suite("r8").tasks] == ["reuters-r8"]


def test_unavailable_fashion_mnist_is_skipped_and_listed(monkeypatch, tmp_path):
    monkeypatch.setenv("NMTUNE_FASHION_MNIST_DIR", str(tmp_path))
    suite = get_suite("id")
    assert "fashion-mnist" in suite.skipped and "fashion-mnist" not in [t.name for t in suite.tasks]
    assert get_suite("fashion-c").tasks == ()


@pytest.mark.skipif(not fashion_mnist_available(), reason="dataset-fashion-mnist not installed")
def test_fashion_suites_present_when_installed():
    assert "fashion-mnist" in [t.name for t in get_suite("id").tasks]


@pytest.mark.slow
def test_train_and_eval_class_names_agree_digits_and_subgroups():
    for suite in ("digits", "20ng-subgroups"):
        for task in get_suite(suite).tasks:
            names = load_dataset(task.train.dataset, task.train.split).class_names
            for d in task.evals:
                assert load_dataset(d.data.dataset, d.data.split).class_names == names


def test_unknown_suite_and_bad_entries(tmp_path):
    with pytest.raises(ValueError, match="Did you mean 'digits'"):
        get_suite("digit")
    bad = {
        "name": "x",
        "tasks": [
            {
                "name": "t",
                "modality": "text",
                "train": {"dataset": "reuters-r8", "split": "train"},
                "evals": [{"dataset": "reuters-r8", "split": "test", "kind": "far"}],
            }
        ],
    }
    with pytest.raises(ValueError, match="kind must be"):
        suite_from_dict(bad)
    path = tmp_path / "mine.json"
    bad["tasks"][0]["evals"][0]["kind"] = "ood"
    path.write_text(json.dumps(bad))
    assert get_suite(str(path)).tasks[0].evals[0].kind == "ood"
