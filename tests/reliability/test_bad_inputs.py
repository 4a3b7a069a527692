"""A campaign of bad inputs through the CLI and the Python API: each must get a clear error, never a traceback.

Every case names a substring the message must contain: what was received (the bad value, key or file) or the
fix. A CLI case passes when the command exits with status 2 and prints that message on stderr without a
traceback; an API case when it raises a ``ValueError`` / ``TypeError`` / ``OSError`` / ``ImportError`` (or one of
their nmtune subclasses) carrying it. ``test_campaign_size`` keeps the campaign at 100 cases or more.
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from nmtune.cli import main

EXPLAINED = (ValueError, TypeError, OSError, ImportError)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    r = np.random.default_rng(0)
    np.save(d / "X.npy", r.standard_normal((60, 8)).astype(np.float32))
    np.save(d / "y.npy", np.arange(60) % 3)
    np.save(d / "y_short.npy", np.arange(59) % 3)
    np.save(d / "y_float.npy", np.full(60, 0.5))
    np.save(d / "y_one_class.npy", np.zeros(60, dtype=np.int64))
    np.save(d / "X_1d.npy", np.zeros(60, dtype=np.float32))
    np.save(d / "X_nan.npy", np.full((60, 8), np.nan, dtype=np.float32))
    np.save(d / "X_huge.npy", np.full((60, 8), 1e30, dtype=np.float32))
    np.save(d / "X_complex.npy", np.ones((60, 8), dtype=np.complex64))
    np.save(d / "X_obj.npy", np.array([["a"] * 8] * 60, dtype=object), allow_pickle=True)
    np.save(d / "X_str.npy", np.array([["a"] * 8] * 60))
    np.save(d / "X_empty_rows.npy", np.zeros((0, 8), dtype=np.float32))
    (d / "zero.npy").write_bytes(b"")
    good = (d / "X.npy").read_bytes()
    (d / "truncated.npy").write_bytes(good[: len(good) // 2])
    (d / "notnpy.npy").write_text("hello, this is text\n")
    (d / "X.csv").write_text("a,b,label\n1,2,x\n3,4,y\n")
    (d / "folder").mkdir()
    (d / "garbage.sqlite").write_text("not a database at all")
    (d / "empty.sqlite").write_bytes(b"")
    with sqlite3.connect(d / "other.sqlite") as con:
        con.execute("create table t (x int)")
    cfgs = {
        "bad_yaml.yaml": "methods: [lp\nseeds: {",
        "empty.yaml": "",
        "list.yaml": "- lp\n- mlp\n",
        "unknown_key.yaml": "methodz: [lp]\n",
        "device_gpu.yaml": "encoders: [glove-50]\nsuites: [r8]\ndevice: gpu\n",
        "epochs_frac.yaml": "encoders: [glove-50]\nsuites: [r8]\nepochs: 2.7\n",
        "epochs_word.yaml": "encoders: [glove-50]\nsuites: [r8]\nepochs: five\n",
        "task_unknown.yaml": "encoders: [glove-50]\nsuites: [r8]\ntasks: [nosuchtask]\n",
        "method_unknown.yaml": "encoders: [glove-50]\nsuites: [r8]\nmethods: [nmtun]\n",
        "encoder_unknown.yaml": "encoders: [glov-50]\nsuites: [r8]\n",
        "suite_unknown.yaml": "encoders: [glove-50]\nsuites: [r9]\n",
        "fraction_pct.yaml": "encoders: [glove-50]\nsuites: [r8]\nfractions: [10]\n",
        "noise_one.yaml": "encoders: [glove-50]\nsuites: [r8]\nnoise_rates: [1.0]\n",
        "seed_neg.yaml": "encoders: [glove-50]\nsuites: [r8]\nseeds: [-1]\n",
        "seed_frac.yaml": "encoders: [glove-50]\nsuites: [r8]\nseeds: [2.5]\n",
        "param_typo.yaml": "encoders: [glove-50]\nsuites: [r8]\nmethods: [{name: nmtune, params: {lamda: 0.1}}]\n",
        "selection.yaml": "encoders: [glove-50]\nsuites: [r8]\nselection: [vall]\n",
        "n_jobs.yaml": "encoders: [glove-50]\nsuites: [r8]\nn_jobs: 0\n",
        "image_on_text.yaml": "encoders: [efficientnet-lite0]\nsuites: [r8]\n",
        "pairs.yaml": "pairs: [[glove-50]]\n",
        "val_fraction.yaml": "encoders: [glove-50]\nsuites: [r8]\nval_fraction: 1.5\n",
        "max_train.yaml": "encoders: [glove-50]\nsuites: [r8]\nmax_train: 0\n",
    }
    for name, text in cfgs.items():
        (d / name).write_text(text)
    return d


def _cli(files, argv_template: str) -> list[str]:
    return [a.replace("{d}", str(files)) for a in argv_template.split()]


CLI_CASES = [
    # (argv with {d} for the fixture folder, substring the error must contain)
    ("run --config {d}/nope.yaml", "nope.yaml"),
    ("run --config {d}/bad_yaml.yaml", "bad_yaml.yaml"),
    ("run --config {d}/empty.yaml", "empty"),
    ("run --config {d}/list.yaml", "list.yaml"),
    ("run --config {d}/unknown_key.yaml", "methodz"),
    ("run --config {d}/device_gpu.yaml", "gpu"),
    ("run --config {d}/epochs_frac.yaml", "2.7"),
    ("run --config {d}/epochs_word.yaml", "five"),
    ("run --config {d}/task_unknown.yaml", "nosuchtask"),
    ("run --config {d}/method_unknown.yaml", "Did you mean 'nmtune'"),
    ("run --config {d}/encoder_unknown.yaml", "glov-50"),
    ("run --config {d}/suite_unknown.yaml", "r9"),
    ("run --config {d}/fraction_pct.yaml", "Use 0.1 for 10 %"),
    ("run --config {d}/noise_one.yaml", "noise_rates"),
    ("run --config {d}/seed_neg.yaml", "seeds"),
    ("run --config {d}/seed_frac.yaml", "2.5"),
    ("run --config {d}/param_typo.yaml", "lamda"),
    ("run --config {d}/selection.yaml", "vall"),
    ("run --config {d}/n_jobs.yaml", "n_jobs"),
    ("run --config {d}/image_on_text.yaml", "efficientnet-lite0"),
    ("run --config {d}/pairs.yaml", "pairs"),
    ("run --config {d}/val_fraction.yaml", "val_fraction"),
    ("run --config {d}/max_train.yaml", "max_train"),
    ("run --config {d}/folder", "folder"),
    ("run --config demo --n-jobs 0", "n-jobs"),
    ("run --config demo --n-jobs two", "two"),
    ("run --config demo --backend spark", "spark"),
    ("run", "--config"),
    ("report --store {d}/nope.sqlite --out {d}/rep", "nope.sqlite"),
    ("report --store {d}/garbage.sqlite --out {d}/rep", "garbage.sqlite"),
    ("report --store {d}/empty.sqlite --out {d}/rep", "empty.sqlite"),
    ("report --store {d}/folder --out {d}/rep", "folder"),
    ("report --store {d}/other.sqlite --out {d}/rep", "other.sqlite"),
    ("report --out {d}/rep", "--store"),
    ("analyze {d}/nope.npy", "nope.npy"),
    ("analyze {d}/zero.npy", "zero.npy"),
    ("analyze {d}/truncated.npy", "truncated.npy"),
    ("analyze {d}/notnpy.npy", "notnpy.npy"),
    ("analyze {d}/X_obj.npy", "object"),
    ("analyze {d}/X_complex.npy", "complex"),
    ("analyze {d}/X_str.npy", "X_str.npy"),
    ("analyze {d}/X_1d.npy", "shape"),
    ("analyze {d}/X_nan.npy", "NaN"),
    ("analyze {d}/X_empty_rows.npy", "(0, 8)"),
    ("analyze {d}/X.npy --method qr", "qr"),
    ("analyze {d}/folder", "folder"),
    ("analyze {d}/X.xyz", "X.xyz"),
    ("analyze {d}/X.csv --label-column nolabel", "nolabel"),
    ("tune {d}/X.npy --labels {d}/y.npy --method nmtun --out {d}/m.pt", "Did you mean 'nmtune'"),
    ("tune {d}/X.npy --labels {d}/y.npy --param lamda=0.1 --out {d}/m.pt", "lamda"),
    ("tune {d}/X.npy --labels {d}/y.npy --param lam --out {d}/m.pt", "lam"),
    ("tune {d}/X.npy --labels {d}/y.npy --param lr=fast --out {d}/m.pt", "fast"),
    ("tune {d}/X.npy --labels {d}/y.npy --param lr=-1 --out {d}/m.pt", "lr"),
    ("tune {d}/X.npy --labels {d}/y.npy --param lr=inf --out {d}/m.pt", "lr"),
    ("tune {d}/X.npy --labels {d}/y.npy --epochs 0 --out {d}/m.pt", "0"),
    ("tune {d}/X.npy --labels {d}/y.npy --epochs 2.5 --out {d}/m.pt", "2.5"),
    ("tune {d}/X.npy --labels {d}/y.npy --device gpu --out {d}/m.pt", "gpu"),
    ("tune {d}/X.npy --labels {d}/y_short.npy --out {d}/m.pt", "59"),
    ("tune {d}/X.npy --labels {d}/y_float.npy --out {d}/m.pt", "label"),
    ("tune {d}/X.npy --labels {d}/y_one_class.npy --out {d}/m.pt", "class"),
    ("tune {d}/X.npy --labels {d}/nope.npy --out {d}/m.pt", "nope.npy"),
    ("tune {d}/X.npy --out {d}/m.pt", "label"),
    ("tune {d}/X_nan.npy --labels {d}/y.npy --out {d}/m.pt", "NaN"),
    ("tune {d}/X_huge.npy --labels {d}/y.npy --out {d}/m.pt", "1e+15"),
    ("tune {d}/zero.npy --labels {d}/y.npy --out {d}/m.pt", "zero.npy"),
    ("tune {d}/X.npy --labels {d}/y.npy --out {d}/folder", "folder"),
    ("tune {d}/X.npy --labels {d}/y.npy --eval {d}/X_1d.npy --eval-labels {d}/y.npy --out {d}/m.pt", "shape"),
    ("tune {d}/X.npy --labels {d}/y.npy", "--out"),
    ("extract --encoder glove-50 --dataset nosuchdata", "nosuchdata"),
    ("extract --encoder nosuchenc --dataset reuters-r8", "nosuchenc"),
    ("extract --encoder glove-50 --dataset reuters-r8 --split validation", "validation"),
    ("extract --encoder glove-50 --dataset reuters-r8 --shard-size 0", "0"),
    ("extract --encoder glove-50 --dataset reuters-r8 --batch-size 0", "0"),
    ("extract --encoder glove-50 --dataset reuters-r8 --device gpu", "gpu"),
    ("extract --encoder glove-50 --dataset cap:0:reuters-r8", "cap:"),
    ("extract --encoder glove-50 --dataset cap:x:reuters-r8", "cap:"),
    ("extract --encoder hf: --dataset reuters-r8", "hf:"),
    ("extract --encoder npy:{d}/nope.npy --dataset reuters-r8", "nope.npy"),
    ("extract --encoder efficientnet-lite0 --dataset reuters-r8", "text"),
    ("extract --encoder glove-50 --dataset csv:{d}/nope.csv", "nope.csv"),
    ("serve --encoder nosuchenc", "nosuchenc"),
    ("serve --encoder glove-50 --port 70000", "70000"),
    ("serve --encoder glove-50 --max-batch 0", "0"),
    ("serve --encoder efficientnet-lite0", "text"),
    ("serve --encoder glove-50 --faults nonsense", "nonsense"),
    ("study noisy-pretrain --gammas 30 --out {d}/study", "30"),
    ("study noisy-pretrain --gammas 0.1 --seeds -1 --out {d}/study", "-1"),
    ("study noisy-pretrain --fractions 0 --out {d}/study", "fractions"),
    ("study noisy-pretrain --config {d}/nope.yaml --out {d}/study", "nope.yaml"),
    ("study noisy-pretrain --config {d}/bad_yaml.yaml --out {d}/study", "bad_yaml.yaml"),
    ("study noisy-pretrain --jobs -1 --out {d}/study", "-1"),
    ("pretrain --noise 1.5 --out {d}/c.pt", "1.5"),
    ("pretrain --noise 20 --out {d}/c.pt", "Use 0.1 for 10 %"),
    ("pretrain --epochs 0 --out {d}/c.pt", "epochs"),
    ("pretrain --dataset nosuchdata --out {d}/c.pt", "nosuchdata"),
    ("pretrain --lr -1 --out {d}/c.pt", "lr"),
    ("pretrain --width 0 --out {d}/c.pt", "width"),
    ("study noisy-pretrain --config {d}/list.yaml --out {d}/study", "list.yaml"),
    ("study noisy-pretrain --config {d}/unknown_key.yaml --out {d}/study", "methodz"),
    ("nosuchcommand", "nosuchcommand"),
]


def _run_cli(argv, capsys):
    """Exit status and stderr of ``nmtune argv``; an exception escaping ``main`` fails the case."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("argv", "expected"), CLI_CASES, ids=[c[0].replace("{d}/", "") for c in CLI_CASES])
def test_cli_bad_input_gets_a_clear_error(files, capsys, argv, expected):
    code, err = _run_cli(_cli(files, argv), capsys)
    assert code == 2, f"exit status {code}; stderr: {err}"
    assert "Traceback" not in err
    assert expected.replace("{d}/", "") in err, err


def _api_cases(d):
    from nmtune import heads, noise, spectrum
    from nmtune.api.client import ApiEncoder
    from nmtune.cache import FeatureCache, get_features
    from nmtune.datasets import load_dataset, stratified_fraction
    from nmtune.encoders import get_encoder
    from nmtune.feature_files import load_feature_file as read_features
    from nmtune.protocol.config import GridConfig
    from nmtune.protocol.methods import build_estimator
    from nmtune.results import ResultsStore

    X = np.load(d / "X.npy")
    y = np.load(d / "y.npy")
    return [
        ("symmetric rate 20", lambda: noise.symmetric_noise(y, 20), "percentage"),
        ("symmetric rate nan", lambda: noise.symmetric_noise(y, float("nan")), "finite"),
        ("symmetric rate str", lambda: noise.symmetric_noise(y, "0.1"), "str"),
        ("symmetric bad labels", lambda: noise.symmetric_noise([0.5, 1.5], 0.1), "0.5"),
        ("symmetric 2-D labels", lambda: noise.symmetric_noise(np.zeros((3, 3)), 0.1), "shape"),
        (
            "asymmetric wrong transition",
            lambda: noise.asymmetric_noise(y, 0.2, transition=[1, 0]),
            "transition",
        ),
        ("pair swaps rate", lambda: noise.pair_swap_noise(10, 1.5), "1.5"),
        ("random_state str", lambda: noise.symmetric_noise(y, 0.1, random_state="x"), "random_state"),
        ("svd method", lambda: spectrum.singular_values(X, method="qr"), "qr"),
        ("svd 1-D", lambda: spectrum.singular_values(X[0]), "shape"),
        ("svd empty", lambda: spectrum.singular_values(np.zeros((0, 3))), "shape"),
        ("svd strings", lambda: spectrum.singular_values(np.array([["a"]])), "dtype"),
        ("svd nan", lambda: spectrum.singular_values(np.full((3, 3), np.nan)), "NaN"),
        ("sve negative", lambda: spectrum.singular_value_entropy([-1.0, 2.0]), "negative"),
        ("sve zeros", lambda: spectrum.singular_value_entropy([0.0, 0.0]), "zero"),
        ("plot empty", lambda: spectrum.plot_spectrum({}, d / "p.png"), "non-empty"),
        ("lp lr", lambda: heads.LinearProbe(lr=-1).fit(X, y), "lr"),
        ("lp epochs float", lambda: heads.LinearProbe(epochs=2.5).fit(X, y), "2.5"),
        ("lp batch", lambda: heads.LinearProbe(batch_size=1).fit(X, y), "batch_size"),
        ("lp device", lambda: heads.LinearProbe(device="gpu").fit(X, y), "gpu"),
        ("lp schedule", lambda: heads.LinearProbe(schedule="cosin").fit(X, y), "cosin"),
        ("lp sample_weight", lambda: heads.LinearProbe().fit(X, y, sample_weight=np.ones(60)), "resample"),
        ("lp y short", lambda: heads.LinearProbe().fit(X, y[:-1]), "59"),
        ("lp one class", lambda: heads.LinearProbe().fit(X, np.zeros(60)), "class"),
        ("lp X nan", lambda: heads.LinearProbe().fit(np.full((60, 8), np.nan), y), "NaN"),
        ("lp X huge", lambda: heads.LinearProbe().fit(np.full((60, 8), 1e30), y), "1e+15"),
        ("lp X 3-D", lambda: heads.LinearProbe().fit(np.zeros((60, 2, 2)), y), "2"),
        ("mlp hidden", lambda: heads.MLPTuning(hidden_dim=0).fit(X, y), "hidden_dim"),
        ("mlp activation", lambda: heads.MLPTuning(activation="relu6").fit(X, y), "relu6"),
        ("nmtune lam", lambda: heads.NMTune(lam=-1).fit(X, y), "lam"),
        ("nmtune top k", lambda: heads.NMTune(svd_top_k=0).fit(X, y), "svd_top_k"),
        ("predict unfitted", lambda: heads.LinearProbe().predict(X), "fit"),
        ("load garbage", lambda: heads.load(d / "notnpy.npy"), "notnpy.npy"),
        ("load missing", lambda: heads.load(d / "nope.pt"), "nope.pt"),
        ("dataset unknown", lambda: load_dataset("reuters-r9"), "Did you mean"),
        ("dataset split", lambda: load_dataset("reuters-r8", "val"), "val"),
        ("dataset name int", lambda: load_dataset(3), "3"),
        ("dataset size", lambda: load_dataset("optdigits@0"), "@0"),
        ("dataset cap", lambda: load_dataset("cap:-1:optdigits"), "cap:"),
        ("fraction 0", lambda: stratified_fraction(y, 0.0), "fraction"),
        ("fraction 2-D", lambda: stratified_fraction(np.zeros((2, 2)), 0.5), "shape"),
        ("encoder unknown", lambda: get_encoder("minilmm"), "Did you mean"),
        ("encoder empty prefix", lambda: get_encoder("st:"), "st:"),
        ("encoder int", lambda: get_encoder(5), "5"),
        ("api encoder url", lambda: ApiEncoder("ftp://x"), "http"),
        ("api encoder batch", lambda: ApiEncoder("http://127.0.0.1:9", batch_size=0), "batch_size"),
        ("api encoder timeout", lambda: ApiEncoder("http://127.0.0.1:9", timeout=-1), "timeout"),
        ("read zero", lambda: read_features(d / "zero.npy"), "zero.npy"),
        ("read truncated", lambda: read_features(d / "truncated.npy"), "truncated.npy"),
        ("read complex", lambda: read_features(d / "X_complex.npy"), "complex"),
        ("read object", lambda: read_features(d / "X_obj.npy"), "object"),
        ("read missing", lambda: read_features(d / "nope.npy"), "nope.npy"),
        ("read folder", lambda: read_features(d / "folder"), "folder"),
        ("read suffix", lambda: read_features(d / "X.xyz"), "X.xyz"),
        ("grid fraction", lambda: GridConfig(fractions=(10,)), "10"),
        ("grid backend", lambda: GridConfig(backend="spark"), "spark"),
        ("grid device", lambda: GridConfig(device="tpu"), "tpu"),
        ("grid method", lambda: GridConfig(methods=("nmtun",)), "nmtun"),
        ("grid empty", lambda: GridConfig(seeds=()), "seeds"),
        ("build estimator", lambda: build_estimator("svm"), "svm"),
        (
            "store garbage",
            lambda: ResultsStore(d / "garbage.sqlite", create=False).records(),
            "garbage.sqlite",
        ),
        ("store missing", lambda: ResultsStore(d / "nope.sqlite", create=False), "nope.sqlite"),
        ("store folder", lambda: ResultsStore(d / "folder"), "folder"),
        (
            "cache shard",
            lambda: get_features("glove-50", "reuters-r8", cache=FeatureCache(d / "cache"), shard_size=0),
            "0",
        ),
    ]


def test_api_bad_inputs_get_clear_errors(files):
    unexplained, vague = [], []
    for name, call, expected in _api_cases(files):
        try:
            call()
        except EXPLAINED as exc:
            if expected not in str(exc):
                vague.append(f"{name}: {type(exc).__name__}: {exc} (expected {expected!r})")
        except Exception as exc:  # noqa: BLE001 - the campaign counts these
            unexplained.append(f"{name}: {type(exc).__name__}: {exc}")
        else:
            unexplained.append(f"{name}: no error raised")
    assert not unexplained, "unexplained:\n" + "\n".join(unexplained)
    assert not vague, "messages without the expected detail:\n" + "\n".join(vague)


def test_campaign_size(files):
    assert len(CLI_CASES) + len(_api_cases(files)) >= 100
