"""Declarative parameter specifications shared by the estimators and the CLI.

Each estimator class carries a table ``_param_specs`` mapping a constructor
parameter to a :class:`Param`. ``fit`` validates its parameters against the
table (clear ``ValueError``/``TypeError`` messages naming the parameter), and
the command line turns the same table into flags, so the two never drift.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Param", "int_tuple", "validate_params"]


@dataclass(frozen=True)
class Param:
    """Specification of one estimator parameter.

    Parameters
    ----------
    kind : {"int", "float", "str", "bool", "int_tuple", "shape", "seed", "device"}
        Type of the value. ``"int_tuple"`` is a sequence of positive ints
        (such as ``hidden_layer_sizes``), or one (:func:`int_tuple` makes it
        a tuple); ``"shape"`` an image shape;
        ``"seed"`` an int or a ``numpy.random.RandomState`` (scikit-learn's
        ``random_state``); ``"device"`` a string or a ``torch.device``.
    help : str
        One-line description, reused by ``--help``.
    choices : tuple of str, optional
        Allowed values for ``kind="str"``.
    low, high : float, optional
        Bounds for numbers; ``low_open``/``high_open`` make them strict.
    none_ok : bool
        Whether ``None`` is allowed.
    infinite_ok : bool
        Whether a float may be infinite (a time budget of ``inf``: none);
        otherwise ``inf`` is refused up front, as a weight or rate of ``inf``
        makes training fail later with a message about the wrong setting.
    only_with : tuple of (str, tuple of str), optional
        ``(other, values)``: the parameter is used only when parameter
        ``other`` is one of ``values`` (``k`` only with ``sparsity="topk"``).
        The command line refuses its flag otherwise, as it would be ignored.
    """

    kind: str
    help: str
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    none_ok: bool = False
    infinite_ok: bool = False
    only_with: tuple | None = None

    def check(self, name: str, value: Any) -> None:
        """Raise ``TypeError``/``ValueError`` if ``value`` does not fit."""
        if value is None:
            if self.none_ok:
                return
            raise TypeError(f"{name} must not be None.")
        if self.kind == "device":  # a name, or a torch.device as PyTorch users write it
            if type(value).__name__ == "device" and type(value).__module__.split(".")[0] == "torch":
                return
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string or a torch.device; got {type(value).__name__}.")
            return
        if self.kind == "str":
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string; got {type(value).__name__}.")
            if self.choices is not None and value not in self.choices:
                allowed = "{" + ", ".join(repr(c) for c in self.choices) + "}"
                raise ValueError(f"{name} must be one of {allowed}; got {value!r}.")
            return
        if self.kind == "bool":
            if not isinstance(value, (bool, np.bool_, numbers.Integral)) or value not in (0, 1):
                raise TypeError(f"{name} must be True or False; got {value!r}.")
            return
        if self.kind in ("int_tuple", "shape"):
            one = self.kind == "int_tuple" and isinstance(value, numbers.Integral) and not isinstance(value, bool)
            if not one and (isinstance(value, (str, bytes)) or not hasattr(value, "__iter__")):
                what = "a positive int or a sequence of them" if self.kind == "int_tuple" else \
                    "a sequence of positive ints"
                raise TypeError(f"{name} must be {what}; got {value!r}.")
            # one layer's width, as scikit-learn's MLPRegressor(hidden_layer_sizes=100) takes it
            items = [value] if one else list(value)
            if self.kind == "shape" and len(items) not in (2, 3):
                raise ValueError(f"{name} must be (height, width) or (height, width, channels); got {value!r}.")
            for v in items:
                if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                    raise ValueError(f"{name} must contain positive ints only; got {value!r}.")
            return
        if self.kind == "seed":
            if isinstance(value, np.random.RandomState):
                return
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name} must be an int, a RandomState instance or None; got {value!r}.")
        elif self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name} must be an int; got {value!r}.")
        elif isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number; got {value!r}.")
        if value != value:  # NaN
            raise ValueError(f"{name} must be a number; got nan.")
        if self.kind == "float" and not self.infinite_ok and abs(value) == float("inf"):
            raise ValueError(f"{name} must be finite; got {value!r}.")
        self._check_bounds(name, value)

    def _check_bounds(self, name: str, value: float) -> None:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            op = ">" if self.low_open else ">="
            raise ValueError(f"{name} must be {op} {self.low}; got {value!r}.")
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            op = "<" if self.high_open else "<="
            raise ValueError(f"{name} must be {op} {self.high}; got {value!r}.")


def validate_params(estimator) -> None:
    """Check every parameter of ``estimator`` against its ``_param_specs``."""
    specs = type(estimator)._param_specs
    for name, value in estimator.get_params(deep=False).items():
        spec = specs.get(name)
        if spec is not None:
            spec.check(name, value)


def int_tuple(value) -> tuple[int, ...]:
    """An ``"int_tuple"`` parameter's value as a tuple: ``100`` is ``(100,)``, as in scikit-learn's MLPs.

    Examples
    --------
    >>> int_tuple(100), int_tuple([64, 32])
    ((100,), (64, 32))
    """
    return (int(value),) if isinstance(value, numbers.Integral) else tuple(value)

