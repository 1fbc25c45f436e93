"""Estimator parameters as command-line flags, and their errors in the flags' names.

Flags are generated from each estimator's ``_param_specs`` table, one flag
per constructor parameter with the same name (``--n-components``,
``--hidden-layer-sizes 1000 500 250``), so the CLI mirrors the Python API;
:func:`as_flags` turns an estimator's error ("use scaling='minmax'") into
the flags' words ("use --scaling minmax").
"""

from __future__ import annotations

import argparse

__all__ = ["models", "flag_of", "add_estimator_arguments", "as_flags", "estimator_from_args", "check_flags_apply",
           "chosen_params"]


def models() -> dict[str, type]:
    """Estimator classes selectable with ``--model``, by their ``_cli_name``."""
    import aekit

    found = {cls.__dict__["_cli_name"]: cls for cls in aekit._estimator_classes() if cls.__dict__.get("_cli_name")}
    return dict(sorted(found.items()))


def flag_of(name: str) -> str:
    """The command-line flag of estimator parameter ``name``: ``n_components`` -> ``--n-components``."""
    return "--" + name.replace("_", "-")


def _flag_type(kind):
    return {"int": int, "float": float, "str": str, "int_tuple": int, "shape": int, "seed": int, "device": str}[kind]


def _random_state(text: str):
    """``--random-state``'s type: an integer seed or ``None`` (argparse named the function in its error)."""
    if text.lower() == "none":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or None; got {text!r}") from None


def _choice_owners(name, owners) -> str:
    """Help text naming the models that alone take some of ``name``'s choices ("; unet: --model denoising")."""
    choices = {c: [o._cli_name for o in owners if c in (o._param_specs[name].choices or ())]
               for o in owners for c in o._param_specs[name].choices or ()}
    partial = [f"{c}: --model {', '.join(models_)}" for c, models_ in choices.items() if len(models_) < len(owners)]
    return f" [{'; '.join(partial)}]" if partial else ""


def add_estimator_arguments(parser: argparse.ArgumentParser, classes=None, shown_defaults=None, skip=()) -> None:
    """Add one flag per estimator parameter of ``classes`` (default: every model), but those named in ``skip``.

    Flags default to ``argparse.SUPPRESS``, so only flags the user gave reach
    the estimator; the rest keep the estimator's own defaults, which the help
    shows, or, for a parameter in ``shown_defaults`` (name -> text), the text
    (a command whose recipe sets its own values).
    """
    shown_defaults = shown_defaults or {}
    classes = list(models().values()) if classes is None else list(classes)
    group = parser.add_argument_group("estimator parameters (same names as the Python API)")
    defaults = {cls: cls().get_params(deep=False) for cls in classes}
    kinds = {}  # name -> kind of every flag added
    for cls in classes:
        for name, spec in cls._param_specs.items():
            if name in kinds or name in ("verbose", "warm_start", *skip):  # aekit train --warm-start takes a model
                continue
            kinds[name] = spec.kind
            flag = flag_of(name)
            owners = [c for c in classes if name in defaults[c]]
            owner = "" if len(owners) == len(classes) else f" [--model {', '.join(c._cli_name for c in owners)}]"
            values = {c._cli_name: defaults[c][name] for c in owners}
            if name in shown_defaults:
                default_text = shown_defaults[name]
            elif len(set(map(repr, values.values()))) == 1:
                default_text = repr(next(iter(values.values())))
            else:  # the models disagree: show each one's default
                default_text = ", ".join(f"{model} {value!r}" for model, value in values.items())
            help_text = f"{spec.help}{owner}{_choice_owners(name, owners)} (default: {default_text})"
            kwargs = {"dest": name, "default": argparse.SUPPRESS, "help": help_text}
            if spec.kind == "bool":
                parser_kwargs = {"action": argparse.BooleanOptionalAction}
            elif spec.kind in ("int_tuple", "shape"):
                parser_kwargs = {"type": int, "nargs": "*", "metavar": "N"}
            elif name == "random_state":
                parser_kwargs = {"type": _random_state, "metavar": "SEED"}
            elif spec.choices:
                # a subclass may allow more values (the imputer's architecture="unet"): offer them all, and
                # let the chosen model's own validation refuse what it does not take
                choices = list(dict.fromkeys(c for o in owners for c in o._param_specs[name].choices or ()))
                parser_kwargs = {"type": str, "choices": choices}
            else:
                parser_kwargs = {"type": _flag_type(spec.kind), "metavar": spec.kind.upper()}
            group.add_argument(flag, **kwargs, **parser_kwargs)
    # the estimators' errors name their parameters as in Python; cli.main names these as flags (as_flags)
    parser.set_defaults(_estimator_flags=kinds)


_VALUE = r"""('[^']*'|"[^"]*"|\([^()]*\)|[^\s,;:()]*[^\s,;:().])"""  # a value ends before a full stop


def as_flags(message: str, kinds: dict[str, str]) -> str:
    """``message`` with the estimator parameters in ``kinds`` (name -> kind) written as the CLI's flags.

    An estimator's error names its parameters as the Python API does:
    ``loss='bce' needs values in [0, 1]: use scaling='minmax'`` reads, on the
    command line, ``--loss bce needs values in [0, 1]: use --scaling minmax``.
    ``name=value`` becomes ``--name value`` (a tuple's items as separate
    values; ``--name``/``--no-name`` for a switch); a bare name does when it
    holds an underscore, or starts the message ("k must be >= 1").

    >>> as_flags("batch_size must be >= 1; got 0.", {"batch_size": "int"})
    '--batch-size must be >= 1; got 0.'
    >>> as_flags("needs mask_input=True; got hidden_layer_sizes=(8, 4), learning_rate=0.5.",
    ...          {"mask_input": "bool", "hidden_layer_sizes": "int_tuple", "learning_rate": "float"})
    'needs --mask-input; got --hidden-layer-sizes 8 4, --learning-rate 0.5.'
    >>> as_flags("got mask_input=False.", {"mask_input": "bool"})
    'got --no-mask-input.'
    >>> as_flags("/data/batch_size/x.npy: batch_size must be >= 1", {"batch_size": "int"})
    '/data/batch_size/x.npy: --batch-size must be >= 1'
    """
    import re

    def assigned(match) -> str:
        name, value = match.group(1), match.group(2)
        if kinds[name] == "bool" and value in ("True", "False"):
            return flag_of(name) if value == "True" else "--no-" + flag_of(name)[2:]
        if value[0] in "'\"":
            value = value[1:-1]
        elif value[0] == "(":
            value = " ".join(v.strip() for v in value[1:-1].split(",") if v.strip())
        return f"{flag_of(name)} {value}" if value else flag_of(name)

    names = "|".join(sorted(map(re.escape, kinds), key=len, reverse=True))
    if not names:
        return message
    outside = r"""(?<![\w.'"/\\-])"""  # not part of a longer name, a string or a path (/data/batch_size/x.npy)
    message = re.sub(rf"{outside}({names})={_VALUE}", assigned, message)
    bare = "|".join(re.escape(n) for n in sorted(kinds, key=len, reverse=True) if "_" in n)
    if bare:
        message = re.sub(rf"""{outside}({bare})(?![\w'"=/\\-])""", lambda m: flag_of(m.group(1)), message)
    return re.sub(rf"^({names})(?= )", lambda m: flag_of(m.group(1)), message)


def estimator_from_args(args: argparse.Namespace, model: str = "autoencoder", data=None, **overrides):
    """Build the estimator named ``model`` from the estimator flags present in ``args``.

    With ``data`` (a :class:`aekit.datasets.Dataset`), a convolutional
    ``--architecture`` without ``--image-shape`` takes the data's image shape.
    """
    chosen = chosen_params(args, model, data)
    chosen.update(overrides)
    estimator = models()[model](**chosen)
    estimator._check_params()
    check_flags_apply(estimator, chosen)
    return estimator


def check_flags_apply(estimator, given) -> None:
    """Refuse a flag in ``given`` that ``estimator``'s settings ignore (its ``Param.only_with``): ``--model sparse
    --k 100`` without ``--sparsity topk`` trained an L1 model and said nothing."""
    params = estimator.get_params(deep=False)
    for name in given:
        spec = type(estimator)._param_specs.get(name)
        if spec is None or spec.only_with is None:
            continue
        other, values = spec.only_with
        if params[other] not in values:
            flag, other_flag = flag_of(name), flag_of(other)
            raise ValueError(f"{flag} applies to {other_flag} {' or '.join(values)}, not {params[other]} (it would be "
                             f"ignored); use {other_flag} {values[0]}, or leave {flag} out.")


def chosen_params(args: argparse.Namespace, model: str, data=None) -> dict:
    """The estimator parameters given as flags in ``args``, checked to apply to ``model``."""
    table = models()
    if model not in table:
        allowed = "{" + ", ".join(repr(k) for k in table) + "}"
        raise ValueError(f"model must be one of {allowed}; got {model!r}.")
    cls = table[model]
    params = cls().get_params(deep=False)
    all_specs = {name for c in table.values() for name in c._param_specs}
    chosen = {}
    for name in all_specs:
        if name in vars(args):
            if name not in params:
                owners = sorted(k for k, c in table.items() if name in c._param_specs)
                raise ValueError(f"{flag_of(name)} applies to --model {' or '.join(owners)}, not {model}.")
            value = getattr(args, name)
            chosen[name] = tuple(value) if isinstance(value, list) else value
    if (data is not None and data.image_shape is not None and "image_shape" not in chosen
            and chosen.get("architecture", "mlp") != "mlp"):
        chosen["image_shape"] = tuple(data.image_shape)
    return chosen
