"""A new user's own data: labels, CSV encodings and delimiters, odd files, through the API and the CLI alike.

Each case is either a clear error (a ``ValueError`` / ``OSError`` naming what was wrong, CLI exit status 2 with
the message and no traceback) or the correct result. The label rules are one function
(:func:`nmtune._internal.validation.check_labels`), so the API, the feature files, the labels files and
``nmtune tune`` agree.
"""

from __future__ import annotations

import numpy as np
import pytest

from nmtune._internal.validation import check_labels, encode_labels
from nmtune.cli import main
from nmtune.feature_files import load_feature_file, load_labels_file


def _cli(argv, capsys):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _csv(path, header, rows, *, sep=",", encoding="utf-8", bom=False):
    text = sep.join(header) + "\n" + "\n".join(sep.join(map(str, r)) for r in rows) + "\n"
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def _rows(n=40, d=3, labels=None, seed=0):
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, d)).round(4)
    y = labels if labels is not None else [("cat", "dog")[i % 2] for i in range(n)]
    return [[*x, lab] for x, lab in zip(X, y)]


# --------------------------------------------------------------------------------------- labels: one rule
@pytest.mark.parametrize(
    ("labels", "pattern"),
    [
        ([0.5, 1.5, 0.25], "continuous.*0.5"),
        (["0.37", "1.2"], "continuous.*'0.37'"),
        (["a", None, "b"], "missing label.*row 1: None"),
        (["a", "", "b"], "missing label.*row 1: ''"),
        (["a", "  ", "b"], "missing label"),
        (["a", "None", "b"], "missing label.*'None'"),
        (["a", "nan", "b"], "missing label.*'nan'"),
        (["a", "NaN", "b"], "missing label"),
        (["a", "NULL", "b"], "missing label"),
        ([1.0, float("nan"), 2.0], "missing label.*nan"),
        ([1.0, float("inf"), 2.0], "infinite"),
        (np.zeros((3, 2)), "1-D"),
        (np.array(["a", None, "b"], dtype=object), "missing label"),
    ],
)
def test_bad_labels_are_refused_the_same_everywhere(labels, pattern):
    with pytest.raises(ValueError, match=pattern):
        check_labels(labels)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ([3, 1, 3], [3, 1, 3]),
        (["3", "1", "3"], [3, 1, 3]),
        ([3.0, 1.0], [3, 1]),
        ([True, False], [1, 0]),
        (["cat", "dog"], ["cat", "dog"]),
        ([" 2 ", "1"], [2, 1]),
        (["A", 1], ["A", "1"]),
    ],
)
def test_good_labels_keep_their_meaning(labels, expected):
    assert check_labels(labels).tolist() == expected


def test_encode_labels_sorted_codes():
    classes, codes = encode_labels(["dog", "cat", "dog"])
    assert classes.tolist() == ["cat", "dog"] and codes.tolist() == [1, 0, 1] and codes.dtype == np.int64


def test_the_heads_refuse_none_and_nan_labels_clearly(blobs):
    from nmtune.heads import LinearProbe

    X, y, _, _ = blobs
    labels = np.array([str(v) for v in y], dtype=object)
    labels[7] = None
    with pytest.raises(ValueError, match="missing label.*row 7"):
        LinearProbe(epochs=1, min_steps=0).fit(X, labels)
    with pytest.raises(ValueError, match="continuous"):
        LinearProbe(epochs=1, min_steps=0).fit(X, y + 0.5)


def test_make_task_takes_string_labels():
    from nmtune.protocol import make_task

    X = np.zeros((4, 2))
    task = make_task("t", X, ["dog", "cat", "dog", "cat"], {"test": (X, ["cat", "cat", "dog", "dog"], "id")})
    assert task.y_train.tolist() == [1, 0, 1, 0] and task.class_names == ("cat", "dog")
    assert task.evals[0].y.tolist() == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="absent from the training labels.*'cow'"):
        make_task("t", X, ["dog", "cat", "dog", "cat"], {"test": (X, ["cow", "cat", "dog", "dog"], "id")})
    with pytest.raises(ValueError, match="missing label"):
        make_task("t", X, ["dog", None, "dog", "cat"], {"test": (X, [0, 1, 0, 1], "id")})


# --------------------------------------------------------------------------------------- CSV files
def test_csv_with_continuous_labels_is_refused_by_the_reader_and_by_tune(tmp_path, capsys):
    path = _csv(tmp_path / "reg.csv", ["a", "b", "label"], _rows(labels=np.linspace(0, 1, 40).round(3)))
    with pytest.raises(ValueError, match="continuous.*reg.csv"):
        load_feature_file(path)
    code, _, err = _cli(["tune", path, "--method", "lp", "--out", tmp_path / "m.pt"], capsys)
    assert code == 2 and "continuous" in err and "Traceback" not in err
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.parametrize("bad", ["", "None", "nan", "NA"])
def test_csv_with_an_empty_or_none_label_cell_names_the_row(tmp_path, bad):
    rows = _rows()
    rows[5][-1] = bad
    path = _csv(tmp_path / "gaps.csv", ["a", "b", "c", "label"], rows)
    with pytest.raises(ValueError, match=r"gaps.csv.*missing label.*row 5"):
        load_feature_file(path)


def test_csv_with_a_utf8_byte_order_mark_keeps_its_label_column(tmp_path):
    path = _csv(tmp_path / "bom.csv", ["label", "a", "b", "c"], [[r[-1], *r[:-1]] for r in _rows()], bom=True)
    X, y = load_feature_file(path)
    assert X.shape == (40, 3) and set(y.tolist()) == {"cat", "dog"}


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_csv_with_another_delimiter_is_read(tmp_path, sep):
    path = _csv(tmp_path / "semi.csv", ["a", "b", "c", "label"], _rows(), sep=sep)
    X, y = load_feature_file(path)
    assert X.shape == (40, 3) and y[0] == "cat"
    np.testing.assert_allclose(X[0], np.asarray(_rows()[0][:3], dtype=np.float32))


def test_semicolon_csv_with_decimal_commas_says_so(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("a;b;label\n0,5;1,25;cat\n0,1;2,0;dog\n")
    with pytest.raises(ValueError, match="decimal comma"):
        load_feature_file(path)


def test_latin1_csv_names_the_file_and_the_fix(tmp_path, capsys):
    path = _csv(
        tmp_path / "latin.csv",
        ["a", "b", "c", "label"],
        _rows(labels=["café", "thé"] * 20),
        encoding="latin-1",
    )
    with pytest.raises(ValueError, match=r"latin.csv.*not UTF-8.*line 2.*iconv -f latin1"):
        load_feature_file(path)
    code, _, err = _cli(["analyze", path, "--no-plot", "--out", tmp_path / "o"], capsys)
    assert code == 2 and "latin.csv" in err and "UTF-8" in err


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("a,b,label\n", "no data rows"),
        ("a,b,label\n1,,cat\n", "column 'b' is empty"),
        ("a,b,label\n1,x,cat\n", "column 'b' holds 'x'"),
        ("a,label,label\n1,cat,dog\n", "2 columns named 'label'"),
        ("label\ncat\n", "no feature columns"),
        ("\n\n", "is empty"),
        ("1,2,3\n4,5,6\n", "no header row"),
    ],
)
def test_odd_csv_files(tmp_path, text, pattern):
    path = tmp_path / "odd.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=pattern):
        load_feature_file(path)


def test_csv_with_windows_line_endings_and_quoted_labels(tmp_path):
    path = tmp_path / "win.csv"
    path.write_bytes(b'a,b,label\r\n1,2,"cat, big"\r\n3,4,dog\r\n')
    X, y = load_feature_file(path)
    assert X.tolist() == [[1, 2], [3, 4]] and y.tolist() == ["cat, big", "dog"]


# --------------------------------------------------------------------------------------- labels files
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("1\n0\n1\n", [1, 0, 1]),
        ("label\ncat\ndog\ncat\n", ["cat", "dog", "cat"]),
        ("cat\ndog\ncat\n\n\n", ["cat", "dog", "cat"]),
        ("\ufeffcat\r\ndog\r\ncat\r\n", ["cat", "dog", "cat"]),
    ],
)
def test_text_labels_files(tmp_path, content, expected):
    path = tmp_path / "y.txt"
    path.write_text(content, encoding="utf-8")
    assert load_labels_file(path).tolist() == expected


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        ("cat\n\ndog\n", "missing label.*row 1"),
        ("cat\nNone\ndog\n", "missing label"),
        ("0.3\n0.7\n", "continuous"),
        ("", "holds no labels"),
    ],
)
def test_bad_text_labels_files(tmp_path, content, pattern):
    path = tmp_path / "y.txt"
    path.write_text(content)
    with pytest.raises(ValueError, match=pattern):
        load_labels_file(path)


def test_labels_file_count_and_kinds(tmp_path):
    np.save(tmp_path / "y.npy", np.arange(5))
    with pytest.raises(ValueError, match="5 labels but the features have 6 rows"):
        load_labels_file(tmp_path / "y.npy", n_rows=6)
    np.save(tmp_path / "obj.npy", np.array(["a", None], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="obj.npy.*not a readable"):
        load_labels_file(tmp_path / "obj.npy")
    np.save(tmp_path / "nan.npy", np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="nan.npy.*missing label"):
        load_labels_file(tmp_path / "nan.npy")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        load_labels_file(tmp_path)


def test_tune_with_a_labels_file_holding_none(tmp_path, capsys):
    np.save(tmp_path / "X.npy", np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32))
    (tmp_path / "y.txt").write_text("a\nb\nNone\na\nb\na\n")
    code, _, err = _cli(
        ["tune", tmp_path / "X.npy", "--labels", tmp_path / "y.txt", "--out", tmp_path / "m.pt"], capsys
    )
    assert code == 2 and "missing label" in err and "y.txt" in err


def test_npz_with_object_labels_is_refused_without_unpickling(tmp_path):
    np.savez(tmp_path / "o.npz", X=np.zeros((2, 2), np.float32), y=np.array(["a", None], dtype=object))
    with pytest.raises(ValueError, match="o.npz.*Python objects"):
        load_feature_file(tmp_path / "o.npz")
    (tmp_path / "bad.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="bad.npz.*not a readable .npz"):
        load_feature_file(tmp_path / "bad.npz")


def test_csv_text_dataset_with_empty_labels_and_bom(tmp_path):
    from nmtune.datasets import load_dataset

    path = tmp_path / "reviews.csv"
    rows = "\n".join(f"text {i};{'pos' if i % 2 else 'neg'}" for i in range(20))
    path.write_bytes(b"\xef\xbb\xbftext;label\n" + rows.encode() + b"\n")
    ds = load_dataset(f"csv:{path}", "train")
    assert ds.class_names == ("neg", "pos") and len(ds) == 16
    gap = tmp_path / "gap.csv"
    gap.write_text("text,label\na,pos\nb,\nc,neg\nd,pos\ne,neg\n")
    with pytest.raises(ValueError, match="gap.csv.*missing label"):
        load_dataset(f"csv:{gap}", "train")


# --------------------------------------------------------------------------------------- what pandas leaves behind
def test_csv_with_pandas_row_index_is_refused_not_used_as_a_feature(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [0.1, 0.2, 0.3], "b": [1.0, 2.0, 3.0], "label": ["x", "y", "x"]})
    frame.to_csv(tmp_path / "with_index.csv")  # pandas' default writes the index as an unnamed first column
    with pytest.raises(ValueError, match="column 1 has no name.*index=False"):
        load_feature_file(tmp_path / "with_index.csv")
    frame.to_csv(tmp_path / "clean.csv", index=False)
    assert load_feature_file(tmp_path / "clean.csv")[0].shape == (3, 2)


def test_parquet_with_pandas_row_index_ignores_the_index(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame(
        {"a": [0.1, 0.2, 0.3], "b": [1.0, 2.0, 3.0], "label": ["x", "y", "x"]}, index=[7, 8, 9]
    )
    frame.to_parquet(tmp_path / "f.parquet")  # a non-default index is stored as __index_level_0__
    X, y = load_feature_file(tmp_path / "f.parquet")
    assert X.shape == (3, 2) and y.tolist() == ["x", "y", "x"]


def test_labels_file_that_is_a_table(tmp_path):
    (tmp_path / "ids.csv").write_text("id,label\n0,cat\n1,dog\n2,cat\n")
    assert load_labels_file(tmp_path / "ids.csv").tolist() == ["cat", "dog", "cat"]
    (tmp_path / "two.csv").write_text("id,name\n0,cat\n1,dog\n")
    with pytest.raises(ValueError, match="table of 2 columns.*not one label per line"):
        load_labels_file(tmp_path / "two.csv")


def test_paths_with_a_tilde_are_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    np.save(tmp_path / "X.npy", np.zeros((3, 2), np.float32))
    np.save(tmp_path / "y.npy", np.array([0, 1, 0]))
    assert load_feature_file("~/X.npy")[0].shape == (3, 2)
    assert load_labels_file("~/y.npy").tolist() == [0, 1, 0]
