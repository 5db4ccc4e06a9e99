"""Plots: one layer-curve figure and one bar chart per task, as readable PNG and valid PDF files."""
import matplotlib
import matplotlib.image as mpimg
import pytest

from benchmarks.plots import plot_bars, plot_layers, primary_metric
from benchmarks.records import load_records, write_record
from benchmarks.registry import Registry


def _rec(model, task, layer, test, val, metric, std=None):
    return {"model": model, "task": task, "layer": layer, "probe": "grid", "seed": 0,
            "metrics": {metric: test, "roc_auc_macro": 0.9}, "validation": {"metric": metric, "value": val},
            "metrics_std": {metric: std} if std else {}}


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    d = tmp_path_factory.mktemp("results")
    for i, model in enumerate(["s8", "mtg-upf/omar-rq-base", "random-s8"]):
        for layer in range(12):
            v = 0.30 + 0.02 * i + 0.01 * layer - 0.0008 * layer ** 2
            write_record(d, _rec(model, "mtat", layer, v, v - 0.01, "pr_auc_macro", std=0.003))
    write_record(d, _rec("mel", "mtat", 0, 0.25, 0.24, "pr_auc_macro"))
    for layer in range(3):
        write_record(d, _rec("tiny", "synth-nsynth-pitch", layer, 0.5 + 0.1 * layer, 0.5, "accuracy"))
    return load_records(d)


def _check_files(paths, prefix):
    assert [p.name for p in paths] == sorted(p.name for p in paths)
    assert sorted(p.name for p in paths) == sorted(
        f"{prefix}-{t}.{ext}" for t in ("mtat", "synth-nsynth-pitch") for ext in ("pdf", "png"))
    for p in paths:
        assert p.stat().st_size > 1000
        if p.suffix == ".pdf":
            assert p.read_bytes()[:4] == b"%PDF"
        else:
            img = mpimg.imread(p)
            h, w = img.shape[:2]
            assert 250 <= h <= 2000 and 300 <= w <= 3000 and img.shape[2] in (3, 4)
            assert img[..., :3].std() > 0.05  # not a blank canvas


def test_plot_layers(records, tmp_path):
    backend = matplotlib.get_backend()
    paths = plot_layers(records, tmp_path / "plots", Registry.load())
    _check_files(paths, "layers")
    assert matplotlib.get_backend() == backend  # no global backend switch


def test_plot_bars(records, tmp_path):
    paths = plot_bars(records, tmp_path / "plots", Registry.load())
    _check_files(paths, "bars")


def test_no_records_no_files(tmp_path):
    assert plot_layers([], tmp_path) == [] and plot_bars([], tmp_path) == []
    assert not any(tmp_path.iterdir())


def test_primary_metric():
    assert primary_metric("mtat") == "pr_auc_macro"
    assert primary_metric("synth-nsynth-instrument") == "accuracy"
    assert primary_metric("beats-gtzan") == "f_measure"
    assert primary_metric("novel", [_rec("m", "novel", 0, 1.0, 1.0, "mse")]) == "mse"


def test_layer_curve_of_one_layer_whose_interval_excludes_the_value():
    """A percentile interval can lie wholly on one side of the test-set value (a corpus metric's resamples): the
    one-layer curve still draws it, from its ends."""
    from benchmarks.plots import layer_curve_svg

    svg = layer_curve_svg("synth-difficulty", "mse_macro", {"mel": [(0, 0.30, 0.32, 0.41)],
                                                            "tiny": [(3, 0.27, 0.20, 0.25)]}, lower_is_better=True)
    assert svg.lstrip().startswith(("<?xml", "<svg")) and svg.count("<path") >= 4
