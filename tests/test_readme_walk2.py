"""Findings of walking the README's sections as a new user (scaling, partial_fit/warm_start, anomaly detection)."""

import numpy as np
from sklearn.datasets import load_wine

from aekit.cli import main

FAST = ["--hidden-layer-sizes", "8", "--n-components", "3", "--max-epochs", "2", "--random-state", "0", "--quiet"]


def test_warm_start_on_unscaled_columns_does_not_advise_a_refused_flag(tmp_path, capsys):
    # The hint for columns in different units was "pass --scaling standard", which --warm-start then refuses.
    np.save(tmp_path / "wine.npy", load_wine().data.astype(np.float32))
    assert main(["train", str(tmp_path / "wine.npy"), *FAST, "--out", str(tmp_path / "first")]) == 0
    capsys.readouterr()
    assert main(["train", str(tmp_path / "wine.npy"), "--warm-start", str(tmp_path / "first"), "--quiet",
                 "--out", str(tmp_path / "more")]) == 0
    err = capsys.readouterr().err  # the command line logs to stderr
    assert "the columns' standard deviations range from" in err
    assert "pass --scaling standard" not in err
    assert "train a new model with --scaling standard" in err
