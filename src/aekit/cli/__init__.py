"""The ``aekit`` command line.

Each sub-command lives in its own module exposing ``register(subparsers)``,
which adds its parser and sets ``func`` to a function ``run(args) -> int``.
:data:`~aekit.cli._commands.COMMANDS` names the module of each command and its
one-line help, so that :func:`main` imports only the module of the command
asked for: ``aekit --help``, ``--version`` or a mistyped command answer without
loading PyTorch.
Errors in user input become a one-line message and exit code 2; nothing is
written on error.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import sys
import warnings

from .. import __version__
from .._overlapping import Overlapping
from ._commands import COMMANDS, MODULE_OF

__all__ = ["main", "COMMAND_MODULES"]

#: Modules (relative to this package) that register sub-commands, in --help order.
COMMAND_MODULES = list(COMMANDS)

#: Exceptions that mean "the user asked for something wrong", reported in one line.
#: MemoryError: data larger than memory (a 4 kB sparse .npy can declare 37 GiB) says so without a traceback.
USER_ERRORS = (ValueError, TypeError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
               PermissionError, MemoryError)


def build_parser(modules=None) -> argparse.ArgumentParser:
    """The argument parser: by default the full one, all sub-commands registered.

    Parameters
    ----------
    modules : collection of str, optional
        Register only the sub-commands of these modules (names in :data:`COMMAND_MODULES`); the others get a
        stub parser with their one-line help and no arguments. The top-level help and errors are the full
        parser's, and a registered command parses as in the full parser, without importing the other modules.
    """
    parser = argparse.ArgumentParser(
        prog="aekit",
        description="Autoencoders (deep, sparse, denoising, contractive, variational) on PyTorch: train, "
                    "evaluate, compare with PCA.",
    )
    parser.add_argument("--version", action="version", version=f"aekit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module, commands in COMMANDS.items():
        if modules is None or module in modules:
            importlib.import_module(f"{__name__}.{module}").register(sub)
        else:
            for command, text in commands.items():
                sub.add_parser(command, help=text, add_help=False)
    return parser


def _parse(argv):
    """``argv`` parsed by the parser of the command it names, the other commands' modules left unimported."""
    # --version, --help, no command or an unknown one: answered (and the process exited) by the stubs alone
    command = build_parser(modules=()).parse_known_args(argv)[0].command
    return build_parser(modules=(MODULE_OF[command],)).parse_args(argv)


class _AboveBars(logging.StreamHandler):
    """Writes each record with ``tqdm.write``: on a terminal, above the progress bar instead of into it.

    ``flags`` (parameter name -> kind, the command's estimator flags): warnings name those parameters as the
    command line does (``--n-components 64``, not ``n_components=64``), as its errors do.
    """

    def __init__(self, stream, flags: dict | None = None):
        super().__init__(stream)
        self.flags = flags

    def format(self, record):
        text = super().format(record)
        if self.flags and record.levelno >= logging.WARNING:
            from ._flags import as_flags

            text = as_flags(text, self.flags)
        return text

    def emit(self, record):
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # noqa: BLE001 (logging's own contract: report, never raise)
            self.handleError(record)


_LOGGER = logging.getLogger("aekit")
# commands running at once (in threads): the logger's level and propagation from before the first come back
_LOGGER_STATE = Overlapping(lambda: (_LOGGER.level, _LOGGER.propagate),
                            lambda saved: (_LOGGER.setLevel(saved[0]), setattr(_LOGGER, "propagate", saved[1])))


def _setup_logging(args):
    """Context manager: aekit's log records go to stderr for this run.

    The logger is process-wide: when commands overlap in threads, the level and propagation from before the
    first come back when the last ends (each one restoring what it saw left the logger silenced for good).
    """
    level = logging.WARNING if getattr(args, "quiet", False) else logging.INFO
    handler = _AboveBars(sys.stderr, getattr(args, "_estimator_flags", None))
    handler.setFormatter(logging.Formatter("%(message)s"))

    def change():
        _LOGGER.addHandler(handler)
        _LOGGER.setLevel(level)
        _LOGGER.propagate = False

    return _LOGGER_STATE.block(change, undo=lambda: _LOGGER.removeHandler(handler))


def _set_threads(threads):
    """Context manager: ``--threads`` for the command, torch's thread count put back after."""
    if threads is None:
        return contextlib.nullcontext()
    if threads < 1:
        raise ValueError(f"--threads must be >= 1; got {threads}.")
    from .._torch_globals import num_threads  # process-wide: commands run in overlapping threads share the count

    return num_threads(threads)


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGUSR1 (a batch scheduler ending the job) stopped the command, as Ctrl-C would."""

    def __init__(self, signum: int):
        self.signum = int(signum)
        super().__init__(signal.Signals(self.signum).name)


@contextlib.contextmanager
def _stop_on_signals():
    """SIGTERM/SIGUSR1 raise :class:`Stopped` for the command (their default kills the process on the spot:
    no message, temporary files left); the handlers from before come back after."""
    from .._signals import install, restore

    def stop(signum, frame):
        raise Stopped(signum)

    before = install(stop, ("SIGTERM", "SIGUSR1"))
    try:
        yield
    finally:
        restore(before)


def _stdout_errors():
    stream = sys.stdout
    return stream, (stream.errors if hasattr(stream, "reconfigure") else None)


def _set_stdout_errors(saved) -> None:
    stream, errors = saved
    if errors is not None:
        stream.reconfigure(errors=errors)


# commands running at once (in threads): the error handler from before the first comes back when the last ends
_STDOUT_ERRORS = Overlapping(_stdout_errors, _set_stdout_errors)


def _tolerant_stdout():
    """Context manager: while commands run, stdout writes what its encoding lacks as ``\\xe9`` escapes, as stderr
    always does; the error handler comes back when the last overlapping command ends.

    A redirected stdout has the locale's encoding: on Windows a code page such as cp932, which has no
    'é', so printing a path like 'résultats/m' failed after the work was done (exit 2).
    """
    def change():
        stream = sys.stdout
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")

    return _STDOUT_ERRORS.block(change)


def _set_warning_filters(saved) -> None:
    warnings.resetwarnings()  # also invalidates what the modules' warning registries cached under the filters
    warnings.filters[:] = saved


# the warning filters from before the first overlapping command come back when the last ends
_WARNING_FILTERS = Overlapping(lambda: list(warnings.filters), _set_warning_filters)


def _positional_columns():
    """Context manager: while commands run, scikit-learn's "X does not have valid feature names" is not shown.

    The commands pass a model arrays (a CSV's cells, a .npy), never DataFrames, so a model fitted on a
    DataFrame warned on every call, naming a line of scikit-learn's source; a CSV's header is checked
    against its column names instead (``check_columns``), and a .npy has none to check.
    """
    return _WARNING_FILTERS.block(lambda: warnings.filterwarnings(
        "ignore", message="X does not have valid feature names", category=UserWarning))


def main(argv=None) -> int:
    """Run the command line; returns the exit status."""
    args = _parse(argv)
    with contextlib.ExitStack() as run:  # each put back when the command ends, after its message is printed
        run.enter_context(_setup_logging(args))
        run.enter_context(_stop_on_signals())
        run.enter_context(_tolerant_stdout())
        run.enter_context(_positional_columns())
        try:
            run.enter_context(_set_threads(getattr(args, "threads", None)))
            return int(args.func(args) or 0)
        except USER_ERRORS as err:
            from ._options import one_line

            # one line, but all of it: a missing file's message says where to get it on later lines
            message = one_line(str(err)) or type(err).__name__
            if getattr(args, "_estimator_flags", None):  # "use scaling='minmax'" -> "use --scaling minmax"
                from ._flags import as_flags

                message = as_flags(message, args._estimator_flags)
            print(f"aekit {args.command}: error: {message}", file=sys.stderr)
            return 2
        except RuntimeError as err:
            distributed = sys.modules.get("aekit.distributed")  # loaded by any training under torchrun
            if distributed is None or not isinstance(err, distributed.PeerLeftError):
                raise
            # this rank's work was done: the other rank's error is the one to read (it printed it), not gloo's
            # traceback of the closed connection
            print(f"aekit {args.command}: error: {err}", file=sys.stderr)
            return 1
        except BrokenPipeError:  # output piped into a reader that closed early (`aekit info M | head`)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0
        except KeyboardInterrupt as err:
            signum = getattr(err, "signum", signal.SIGINT)
            # loaded by any fit, the only raiser of TrainingInterrupted
            checkpoint = sys.modules.get("aekit.checkpoint")
            if checkpoint is not None and isinstance(err, checkpoint.TrainingInterrupted):  # a checkpoint was saved
                from ..distributed import is_main_process

                if is_main_process():  # under torchrun one rank reports
                    print(f"aekit {args.command}: {err} Continue with the same command plus --resume.",
                          file=sys.stderr)
            else:
                print(f"aekit {args.command}: interrupted" + (f" by {signal.Signals(signum).name}" if isinstance(
                    err, Stopped) else ""), file=sys.stderr)
            return 128 + signum
