"""What a user watching long work sees: progress on a terminal, in a log file, and nothing with --quiet."""

import io
import logging
import os

import numpy as np
import pytest

from aekit._callbacks import Progress
from aekit.cli import main


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


LOGS = {"loss": 0.5, "val_loss": 0.25}


@pytest.fixture
def data_file(tmp_path, rng):
    path = tmp_path / "data.npy"
    np.save(path, rng.random((120, 6)).astype(np.float32))
    return path


def test_progress_in_a_log_writes_few_whole_lines():
    log = io.StringIO()
    progress = Progress(200, file=log, log_every=3600.0)
    for epoch in range(1, 121):  # early stopping: 120 of 200 epochs
        progress(None, epoch, LOGS)
    progress.close()
    text = log.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    # the first epoch (the user sees the rate), then the last; nothing in between within log_every
    assert len(lines) == 2
    assert lines[0].startswith("epoch 1/200 [") and "loss=0.5, val_loss=0.25" in lines[0]
    assert lines[1].startswith("epoch 120/200 [") and "<" not in lines[1]  # no time left shown at the end


def test_progress_in_a_log_writes_at_most_a_line_per_epoch():
    log = io.StringIO()
    progress = Progress(5, file=log, log_every=0.0)
    for epoch in range(1, 6):
        progress(None, epoch, {"loss": 0.5, "val_loss": None})
    progress.close()
    lines = log.getvalue().splitlines()
    assert [line.split(" [")[0] for line in lines] == [f"epoch {i}/5" for i in range(1, 6)]
    assert "val_loss" not in lines[-1]


def test_progress_on_a_terminal_draws_a_bar():
    term = FakeTerminal()
    progress = Progress(3, file=term)
    progress(None, 1, LOGS)
    progress.close()
    assert "\r" in term.getvalue() and "1/3" in term.getvalue()


def test_a_terminal_of_no_size_gets_lines_not_an_empty_bar():
    # a pseudo-terminal nobody sized (docker run -t fed by a script) reports 0 rows: tqdm drew nothing at all
    import fcntl
    import struct
    import termios

    from tqdm import tqdm

    master, slave = os.openpty()
    try:
        with open(slave, "w", closefd=False) as term:
            assert os.get_terminal_size(slave) == (0, 0)
            progress = Progress(3, file=term)
            assert not isinstance(progress.bar, tqdm)
            progress(None, 1, LOGS)
            progress.close()
            term.flush()
            assert "epoch 1/3 [" in os.read(master, 4096).decode()
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))  # a sized terminal
            sized = Progress(3, file=term)
            assert isinstance(sized.bar, tqdm)
            sized.close()
    finally:
        os.close(slave)
        os.close(master)


def test_train_log_has_no_carriage_returns(tmp_path, data_file, capsys):
    code = main(["train", str(data_file), "--out", str(tmp_path / "m"), "--hidden-layer-sizes", "8",
                 "--n-components", "2", "--max-epochs", "40", "--random-state", "0"])
    assert code == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "epoch 1/40 [" in err and "saved " in err
    assert len(err.splitlines()) <= 6


@pytest.mark.parametrize("command", [
    ["train", "--max-epochs", "3"],
    ["train", "--max-epochs", "3", "--pretraining", "denoising", "--hidden-layer-sizes", "8", "4"],
])
def test_quiet_leaves_stderr_empty(tmp_path, data_file, capsys, command):
    args = [*command[:1], str(data_file), "--out", str(tmp_path / "m"), "--n-components", "2", *command[1:],
            "--random-state", "0", "--quiet"]
    assert main(args) == 0
    assert capsys.readouterr().err == ""


def test_log_lines_go_above_a_bar_not_into_it():
    from aekit.cli import _AboveBars

    term = FakeTerminal()
    handler = _AboveBars(term)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("aekit.test_progress")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        progress = Progress(10, file=term)
        progress(None, 1, LOGS)
        logger.warning("a message mid-training")
        progress.close()
    finally:
        logger.removeHandler(handler)
    text = term.getvalue()
    before, _, after = text.partition("a message mid-training")
    assert before.rsplit("\r", 1)[-1].strip() == ""  # the bar was cleared first, not written after
    assert after.startswith("\n")


def test_pretraining_reports_each_layer(tmp_path, data_file, capsys):
    # greedy pretraining of a deep net on MNIST takes minutes before the first epoch's bar
    assert main(["train", str(data_file), "--out", str(tmp_path / "m"), "--hidden-layer-sizes", "8", "4",
                 "--n-components", "2", "--max-epochs", "2", "--pretraining", "denoising"]) == 0
    err = capsys.readouterr().err
    assert err.index("pretraining layer 1 of 3: 6 -> 8 units") < err.index("pretraining layer 3 of 3: 4 -> 2")
    assert "pretrained 3 layers in" in err
    assert err.index("pretrained 3 layers") < err.index("epoch 1/2 [")


def test_denoise_and_inpaint_say_what_is_under_way(tmp_path, rng, capsys):
    from aekit.images import write_image

    (tmp_path / "clean").mkdir()
    for i in range(2):
        write_image(tmp_path / "clean" / f"c{i}.png", rng.random((24, 20)))
    model = tmp_path / "model"
    assert main(["train-denoiser", str(tmp_path / "clean"), "--out", str(model), "--patch-size", "8",
                 "--n-patches", "200", "--max-epochs", "1", "--corruption", "masking", "--random-state", "0"]) == 0
    err = capsys.readouterr().err
    assert "180 patches of 8x8 (20 more held out), masking noise" in err
    assert "; 1 epoch, " in err.splitlines()[-1]

    images = [tmp_path / "clean" / "c0.png", tmp_path / "clean" / "c1.png"]
    assert main(["denoise", str(model), *map(str, images), "--out", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"denoising {images[0]} (20x24, image 1 of 2) ..."
    assert lines[1].startswith(f"wrote {tmp_path / 'out' / 'c0.png'} (") and lines[1].endswith(" s)")
    assert len(lines) == 4

    mask = np.zeros((24, 20))
    mask[5:9, 5:9] = 1
    write_image(tmp_path / "mask.png", mask)
    assert main(["inpaint", str(model), str(images[0]), "--mask", str(tmp_path / "mask.png"),
                 "--out", str(tmp_path / "filled.png"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_train_summary_says_it_stopped_early_and_where_the_checkpoint_is(tmp_path, data_file, capsys):
    assert main(["train", str(data_file), "--out", str(tmp_path / "m"), "--hidden-layer-sizes", "8",
                 "--n-components", "2", "--max-epochs", "500", "--n-iter-no-change", "2", "--tol", "0.5",
                 "--checkpoint-dir", str(tmp_path / "ck"), "--random-state", "0"]) == 0
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith(f"saved {tmp_path / 'm'}: train error ")
    assert " of 500 epochs (weights of epoch " in last and "the best on validation, kept)" in last
    assert last.endswith(f"; checkpoint in {tmp_path / 'ck'}")


@pytest.mark.parametrize("tty", [False, True])
def test_a_time_budget_sets_the_epochs_the_progress_counts_to(tty):
    # with max_time the bar counted to max_epochs (its time left was the time to epoch 1000) though the budget
    # would stop training after a few epochs
    import time

    stream = FakeTerminal() if tty else io.StringIO()
    progress = Progress(1000, file=stream)
    progress.set_time_budget(1050.0, time.perf_counter() - 100.0)  # the first epoch took 100 s of 1050
    progress(None, 1, {"loss": 1.0, "val_loss": None})
    assert progress.bar.total == 11  # 950 s left hold 9.5 epochs: 9, and the one that crosses the budget
    progress.close()


def test_train_summary_prints_no_negative_zero(tmp_path, capsys):
    # one row under standard scaling is all zeros to the network: its error came out -0.0, printed "-0"
    np.savetxt(tmp_path / "one.csv", [[1.0, 2.0, 3.0]], delimiter=",", header="a,b,c", comments="")
    assert main(["train", str(tmp_path / "one.csv"), "--out", str(tmp_path / "m"), "--hidden-layer-sizes", "2",
                 "--n-components", "1", "--max-epochs", "1", "--scaling", "standard", "--random-state", "0"]) == 0
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith(f"saved {tmp_path / 'm'}: train error ") and "-0 " not in last and "error -0" not in last
