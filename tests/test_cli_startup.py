"""``aekit --version``, ``--help`` or a mistyped command answer without loading PyTorch or scikit-learn.

Building the full parser imports every estimator (their parameters become flags): 4-5 s on a 2-core machine
for ``aekit --version``. :func:`aekit.cli.main` builds only the parser of the command asked for, with stubs
holding the others' one-line help; these tests check that the answers did not change.
"""

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aekit.cli import _parse, build_parser
from aekit.cli._commands import COMMANDS, HELP

SRC = str(Path(__file__).resolve().parents[1] / "src")
FULL = build_parser()
HEAVY = ("torch", "sklearn")


def _outcome(parse, argv):
    """What ``parse(argv)`` returns (as a dict) or exits with, and what it writes to stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            result = vars(parse(argv))
        except SystemExit as exit_:
            result = exit_.code
    return result, out.getvalue(), err.getvalue()


def _main_in_fresh_python(argv):
    """``main(argv)`` in a new interpreter: its exit status, stdout and stderr, and which of HEAVY it imported."""
    code = ("import sys; from aekit.cli import main\n"
            "try:\n    status = main(sys.argv[1:])\nexcept SystemExit as err:\n    status = err.code\n"
            f"print(status, sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": SRC})
    err, last = done.stderr.rstrip("\n").rpartition("\n")[::2]
    status, imported = last.split(" ", 1)
    return (int(status), done.stdout, err + "\n" if err else ""), imported


@pytest.mark.parametrize("argv", [
    ["--version"], ["--help"], ["-h"], ["-h", "train"], [], ["trian"], ["--bogus"],
    ["sample", "--help"],  # a command without estimator flags: its parser alone
])
def test_answers_as_before_without_importing_torch_or_sklearn(argv, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")  # the same help width in both processes
    answer, imported = _main_in_fresh_python(argv)
    assert imported == "[]"
    assert answer == _outcome(FULL.parse_args, argv)
    assert answer[0] in (0, 2) and (answer[1] or answer[2])


def test_the_top_level_help_is_the_full_parsers():
    # the stubs hold each command's one-line help, in order: `aekit --help` cannot drift from the commands
    assert build_parser(modules=()).format_help() == FULL.format_help()
    assert build_parser(modules=()).format_usage() == FULL.format_usage()
    for module in COMMANDS:  # one module registered for real, the rest stubs: the same listing
        assert build_parser(modules=(module,)).format_help() == FULL.format_help(), module


def test_every_command_is_in_the_table():
    # a command registered without a line in COMMANDS would be unreachable (the stubs say "invalid choice")
    subparsers = next(a for a in FULL._actions if a.dest == "command")
    assert list(subparsers.choices) == list(HELP)


@pytest.mark.parametrize("argv", [
    ["train", "d.npy", "--out", "m", "--n-components", "3", "--hidden-layer-sizes", "8", "4", "--model", "sparse"],
    ["encode", "m", "d.npy", "--out", "c.npy"], ["reconstruct", "m", "--dataset", "digits", "--out", "r.npy"],
    ["decode", "m", "c.npy", "--out", "x.npy"],
    ["info", "m", "--json"], ["errors", "m", "d.npy", "--out", "e.npy", "--top", "2"],
    ["evaluate", "m", "d.npy", "--json"], ["impute", "m", "t.csv", "--out", "f.csv"],
    ["compare", "--dataset", "digits", "--out", "o", "--n-components", "2"],
    ["sweep", "--dataset", "digits", "--out", "o", "--n-components", "2", "4"],
    ["features", "m", "d.npy", "--out", "f.npy"], ["train-denoiser", "imgs", "--out", "m", "--max-epochs", "1"],
    ["denoise", "m", "a.png", "--out", "o"], ["inpaint", "m", "a.png", "--mask", "k.png", "--out", "b.png"],
    ["reproduce", "hinton2006", "--dataset", "digits", "--out", "o"], ["sample", "m", "--out", "s.npy"],
    # errors: the same message and exit status 2
    ["train"], ["train", "d.npy", "--out", "m", "--model", "nope"], ["info"], ["sweep", "--n-components"],
    ["sample", "m", "--n", "x", "--out", "o"], ["reproduce", "nope"], ["--bogus", "train"], ["train", "--version"],
    ["train", "--help"], ["denoise", "-h"],
])
def test_a_command_parses_as_with_the_full_parser(argv):
    assert _outcome(_parse, argv) == _outcome(FULL.parse_args, argv)
