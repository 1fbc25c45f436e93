"""Text of errors for aekit's own one-line messages."""

from __future__ import annotations

__all__ = ["first_line"]


def first_line(err: BaseException) -> str:
    """The first line of ``err``'s message, to quote in a one-line error; its type's name when it has none.

    >>> first_line(ValueError("shape mismatch\\n  more detail"))
    'shape mismatch'
    >>> first_line(KeyError())
    'KeyError'
    """
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
