"""Data-parallel training on PyTorch distributed (``torchrun``), CPU or GPU.

aekit does not run its own launcher or communication: processes are started
by ``torchrun`` (one per GPU, or a few per CPU machine), which sets the
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``
environment variables. :func:`init_from_env` joins the process group
(``nccl`` when CUDA is available, ``gloo`` otherwise); from then on
:class:`aekit.training.Trainer` wraps the network in
:class:`~torch.nn.parallel.DistributedDataParallel` and gives each rank its
share of every global minibatch, so the gradient step is the one a single
process would take on the whole minibatch. Only rank 0 should write files
or show progress (:func:`is_main_process`).

Examples
--------
In a script launched with ``torchrun --nproc_per_node=2 script.py``:

>>> from aekit import Autoencoder, distributed
>>> with distributed.session():                       # doctest: +SKIP
...     ae = Autoencoder(n_components=30).fit(X)
...     if distributed.is_main_process():
...         ae.save("model")
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import logging
import math
import os

import numpy as np
import torch
import torch.distributed as dist

from ._messages import first_line

__all__ = ["init_from_env", "session", "leave", "is_distributed", "rank", "world_size", "local_rank",
           "is_main_process", "shard_bounds", "all_reduce_sum", "broadcast_flag", "shared_seed", "max_over_ranks",
           "same_on_all_ranks", "barrier", "PeerLeftError"]

logger = logging.getLogger(__name__)


class PeerLeftError(RuntimeError):
    """A rank found that another rank had left the group: it stopped with an error of its own (rank 0 failing to
    write the model, a machine without the data), which that rank reports. Raised at the final barrier of
    :func:`leave`, and by :func:`session` for a collective that failed because a peer closed its connection."""


#: What gloo's error says when the rank at the other end of a connection has gone (its process ended).
_PEER_GONE = ("Connection closed by peer", "Connection reset by peer", "Broken pipe")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer; got {value!r}.") from None


#: Environment variable: seconds a collective operation waits for the other ranks before failing.
TIMEOUT_VARIABLE = "AEKIT_DIST_TIMEOUT"


def _timeout() -> datetime.timedelta | None:
    """:data:`TIMEOUT_VARIABLE` as a timedelta; None (PyTorch's default, 30 minutes for gloo) when unset."""
    value = os.environ.get(TIMEOUT_VARIABLE, "")
    if value == "":
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"environment variable {TIMEOUT_VARIABLE} must be a number of seconds > 0; got {value!r}.")
    return datetime.timedelta(seconds=seconds)


def is_distributed() -> bool:
    """Whether a process group with more than one process is active.

    Returns
    -------
    bool
        False in a plain process and in a one-process group.
    """
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's global rank (0 without a process group; ``RANK`` before init).

    Returns
    -------
    int
        In ``[0, world_size())``.

    Raises
    ------
    ValueError
        If no group is initialised and ``RANK`` is not an integer.
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return _env_int("RANK", 0)


def world_size() -> int:
    """Number of processes (1 without a process group).

    Returns
    -------
    int
        The process group's size; 1 before :func:`init_from_env` even
        under ``torchrun``.
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def local_rank() -> int:
    """Rank within this machine (``LOCAL_RANK``), which picks the GPU.

    Returns
    -------
    int
        ``LOCAL_RANK`` from the environment, 0 when unset.

    Raises
    ------
    ValueError
        If ``LOCAL_RANK`` is not an integer.
    """
    return _env_int("LOCAL_RANK", 0)


def is_main_process() -> bool:
    """True on rank 0 (and in a plain single process): the one that writes files and progress.

    Returns
    -------
    bool
        Whether :func:`rank` is 0.

    Examples
    --------
    >>> is_main_process()
    True
    """
    return rank() == 0


def init_from_env(backend: str | None = None) -> bool:
    """Join the process group described by ``torchrun``'s environment variables.

    Does nothing (and returns False) outside ``torchrun`` or when
    ``WORLD_SIZE`` is 1; does nothing when a group is already initialised.
    ``AEKIT_DIST_TIMEOUT`` (seconds) sets how long a collective operation
    waits for the other ranks: a rank that hangs instead of dying holds the
    others for PyTorch's default, 30 minutes with gloo.

    Parameters
    ----------
    backend : {"gloo", "nccl"}, optional
        Default: ``"nccl"`` when CUDA is available, else ``"gloo"``. With
        ``nccl`` the process is bound to GPU ``LOCAL_RANK``
        (``torch.cuda.set_device``), so ``device="cuda"`` means its own GPU.

    Returns
    -------
    bool
        Whether training in this process is now distributed.

    Raises
    ------
    ValueError
        If ``backend`` is unknown, ``WORLD_SIZE``/``LOCAL_RANK`` is not an
        integer, ``AEKIT_DIST_TIMEOUT`` is not a number of seconds > 0, or
        the group cannot be formed (a rank that never starts, an address
        where no rank 0 answers).
    RuntimeError
        If ``WORLD_SIZE > 1`` but PyTorch was built without distributed
        support.
    """
    if dist.is_available() and dist.is_initialized():
        return is_distributed()
    if _env_int("WORLD_SIZE", 1) <= 1:
        return False
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this PyTorch build has no torch.distributed support.")
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"
    if backend not in ("gloo", "nccl"):
        raise ValueError(f"backend must be one of {{'gloo', 'nccl'}}; got {backend!r}.")
    timeout = _timeout()
    if backend == "nccl":
        torch.cuda.set_device(local_rank())
    try:
        dist.init_process_group(backend=backend, **({} if timeout is None else {"timeout": timeout}))
    except (dist.DistStoreError, dist.DistNetworkError) as err:  # a rank missing, an address nobody answers on
        where = ", ".join(f"{name}={os.environ.get(name, '(not set)')}" for name in ("MASTER_ADDR", "MASTER_PORT"))
        raise ValueError(f"could not join the process group of WORLD_SIZE={_env_int('WORLD_SIZE', 1)} ranks as "
                         f"RANK={os.environ.get('RANK', '(not set)')} ({where}): {first_line(err).rstrip('.')}. "
                         "Start every rank with the same MASTER_ADDR and MASTER_PORT (torchrun starts and describes "
                         "them all), or set AEKIT_DIST_TIMEOUT (seconds) to wait longer for slow ones.") from err
    logger.log(logging.INFO if dist.get_rank() == 0 else logging.DEBUG, "joined process group: rank %d of %d, "
               "backend %s", dist.get_rank(), dist.get_world_size(), backend)
    return is_distributed()


@contextlib.contextmanager
def session(backend: str | None = None):
    """Context manager: :func:`init_from_env` on entry, leave the group on exit if it joined one.

    A no-op in a plain process. A group that was already initialised on
    entry is left alone on exit. On exit by an exception the group is
    destroyed without the final barrier (a peer may never reach it).

    Parameters
    ----------
    backend : {"gloo", "nccl"}, default=None
        Passed to :func:`init_from_env`; None picks ``"nccl"`` when CUDA is
        available, else ``"gloo"``.

    Yields
    ------
    bool
        Whether training is distributed.

    Raises
    ------
    PeerLeftError
        If a collective in the body failed because another rank had left
        the group (it stopped with an error of its own, which it reports),
        or, from :func:`leave`, if one left before the final barrier.

    Examples
    --------
    >>> with session() as distributed_now:
    ...     distributed_now
    False
    """
    joined = not (dist.is_available() and dist.is_initialized()) and init_from_env(backend)
    finished = False
    try:
        yield is_distributed()
        finished = True
    except RuntimeError as err:
        # a peer that stopped with an error (reported there) before this rank finished: one line, not the
        # traceback of whichever collective found its connection closed
        if isinstance(err, PeerLeftError) or not is_distributed() or not any(s in str(err) for s in _PEER_GONE):
            raise
        raise PeerLeftError(f"rank {dist.get_rank()} stopped: another rank left the process group (it stopped "
                            f"with an error of its own, reported there): {first_line(err)}") from err
    finally:
        if joined:
            leave(barrier=finished)  # after an error no barrier: a peer may never reach it


def leave(barrier: bool = True) -> None:
    """Leave the process group cleanly: free dead DDP wrappers, wait for every rank, destroy the group.

    A ``DistributedDataParallel`` wrapper is left in a reference cycle
    after training, so only the garbage collector frees it; freed after
    the group is destroyed, during interpreter shutdown, its gloo threads
    abort the process ("terminate called without an active exception",
    SIGABRT). Collecting first frees it while the group is alive. The
    barrier keeps a rank from tearing down while a peer (rank 0 writing
    files) still communicates; ``barrier=False`` skips it (leaving after
    an error, when a peer may never reach it). A no-op without a process
    group.

    Parameters
    ----------
    barrier : bool, default=True
        Wait for every rank before destroying the group.

    Raises
    ------
    PeerLeftError
        If another rank left the group before reaching the barrier (after
        an error of its own); the group is destroyed all the same.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    gc.collect()
    try:
        if barrier:
            try:
                dist.barrier()
            except RuntimeError as err:  # gloo's "Connection closed by peer", nccl's errors, a timeout
                raise PeerLeftError(f"rank {dist.get_rank()} finished, but another rank left the process group "
                                    f"before the end (it stopped with an error of its own, reported there): "
                                    f"{first_line(err)}") from err
    finally:
        dist.destroy_process_group()


def shard_bounds(n: int, rank_: int | None = None, world: int | None = None) -> tuple[int, int]:
    """Rows ``[start, stop)`` of an ``n``-row global batch that belong to a rank.

    The split is :func:`torch.tensor_split`'s: contiguous, sizes differing by
    at most one, possibly empty when ``n < world``.

    Parameters
    ----------
    n : int
        Rows in the global batch.
    rank_ : int, default=None
        The rank; None: this process's (:func:`rank`).
    world : int, default=None
        The number of ranks; None: :func:`world_size`.

    Returns
    -------
    tuple of int
        ``(start, stop)``; the first ``n % world`` ranks get one row more.

    Examples
    --------
    >>> [shard_bounds(5, r, 2) for r in range(2)]
    [(0, 3), (3, 5)]
    """
    rank_ = rank() if rank_ is None else rank_
    world = world_size() if world is None else world
    base, extra = divmod(n, world)
    start = rank_ * base + min(rank_, extra)
    return start, start + base + (1 if rank_ < extra else 0)


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over ranks in place (identity without a process group).

    Every rank must call it (a collective).

    Parameters
    ----------
    tensor : torch.Tensor
        This rank's value, on a device the backend handles (CPU for gloo,
        CUDA for nccl); overwritten with the sum.

    Returns
    -------
    torch.Tensor
        ``tensor`` itself.
    """
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def broadcast_flag(flag: bool, device: torch.device | str = "cpu") -> bool:
    """Rank 0's value of ``flag`` on every rank, so all ranks take the same branch.

    Every rank must call it (a collective).

    Parameters
    ----------
    flag : bool
        This rank's value; only rank 0's counts.
    device : torch.device or str, default="cpu"
        Where the one-element tensor sent lives: ``"cpu"`` for gloo, this
        rank's GPU for nccl.

    Returns
    -------
    bool
        Rank 0's ``flag`` (``flag`` itself without a process group).
    """
    return bool(_from_rank_0(1 if flag else 0, device))


def _from_rank_0(value: int, device) -> int:
    """Rank 0's integer ``value`` on every rank (``value`` itself without a process group); a collective."""
    if not is_distributed():
        return int(value)
    t = torch.tensor([int(value)], dtype=torch.int64, device=device)
    dist.broadcast(t, src=0)
    return int(t.item())


def shared_seed(device: torch.device | str = "cpu") -> int:
    """A fresh random seed (from NumPy's global generator), rank 0's on every rank.

    Every rank must call it (a collective). An estimator without a
    ``random_state`` draws its seeds from it under ``torchrun``: each rank
    drawing its own would give each its own validation split and batch
    order, so the ranks would train on different rows.

    Parameters
    ----------
    device : torch.device or str, default="cpu"
        Where the one-element tensor sent lives: ``"cpu"`` for gloo, this
        rank's GPU for nccl.

    Returns
    -------
    int
        A seed in [0, 2**31 - 1).
    """
    return _from_rank_0(np.random.randint(0, 2**31 - 1), device)


def max_over_ranks(value: int, device: torch.device | str = "cpu") -> int:
    """The largest ``value`` of all ranks on every rank (``value`` itself without a process group).

    Every rank must call it (a collective).

    Parameters
    ----------
    value : int
        This rank's value.
    device : torch.device or str, default="cpu"
        Where the one-element tensor reduced lives: ``"cpu"`` for gloo,
        this rank's GPU for nccl.

    Returns
    -------
    int
        The maximum over ranks.
    """
    if not is_distributed():
        return int(value)
    t = torch.tensor([int(value)], dtype=torch.int64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item())


def same_on_all_ranks(values: torch.Tensor, rtol: float = 1e-6) -> bool:
    """Whether every rank holds ``values`` (a small float64 tensor), up to ``rtol``; True without a group.

    Every rank must call it (a collective). Used to check that all ranks
    see the same data (e.g. column statistics) before training.

    Parameters
    ----------
    values : torch.Tensor
        This rank's values, of any shape (compared element by element), on a
        device the backend handles.
    rtol : float, default=1e-6
        Entries agree when the largest and smallest over ranks differ by at
        most ``rtol * (|largest| + 1)`` (relative for large values,
        absolute near 0).

    Returns
    -------
    bool
        The same answer on every rank.
    """
    if not is_distributed():
        return True
    values = values.reshape(-1)  # 2-D values were split wrongly between the maxima and the negated minima
    both = torch.cat([values, -values])
    dist.all_reduce(both, op=dist.ReduceOp.MAX)
    high, low = both[:values.numel()], -both[values.numel():]
    return bool(((high - low).abs() <= rtol * (high.abs() + 1.0)).all())


def barrier() -> None:
    """Wait until every rank gets here (a no-op without a process group)."""
    if is_distributed():
        dist.barrier()
