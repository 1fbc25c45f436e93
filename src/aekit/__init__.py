"""aekit: autoencoders on PyTorch with a scikit-learn interface.

Estimators
----------
Autoencoder
    Deep or shallow autoencoder; ``transform`` encodes, ``inverse_transform``
    decodes, ``score`` is the negative reconstruction error.
SparseAutoencoder
    Autoencoder with L1, KL or top-k sparsity on the code, for feature learning.
DenoisingAutoencoder
    Trained to undo a corruption (gaussian, masking, salt and pepper);
    ``denoise`` cleans inputs.
ContractiveAutoencoder
    Penalises the encoder's Jacobian, for locally invariant features.
VariationalAutoencoder
    Gaussian encoder trained on the negative ELBO; ``sample`` draws new data.
AutoencoderImputer
    scikit-learn imputer: learns from data with NaNs and fills them.
ImputerEnsemble
    Mean of the fills of several imputers differing only in their seed.

Functions
---------
load
    Load a model directory written by ``estimator.save(path)``.
"""

__version__ = "0.1.0"

# Imported on first use (PEP 562): ``import aekit.datasets`` or ``aekit.metrics``
# does not load PyTorch; ``from aekit import Autoencoder`` does.
_EXPORTS = {
    "Autoencoder": "._base",
    "SparseAutoencoder": ".sparse",
    "DenoisingAutoencoder": ".denoising",
    "ContractiveAutoencoder": ".contractive",
    "VariationalAutoencoder": ".variational",
    "AutoencoderImputer": ".impute",
    "ImputerEnsemble": ".ensemble",
    "load": ".persistence",
}

__all__ = ["Autoencoder", "SparseAutoencoder", "DenoisingAutoencoder", "ContractiveAutoencoder", "AutoencoderImputer",
           "ImputerEnsemble", "VariationalAutoencoder", "load", "__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'aekit' has no attribute {name!r}")


def _estimator_classes() -> list:
    """Autoencoder and every subclass of it, after importing each estimator module (they load lazily)."""
    import importlib

    for module in dict.fromkeys(_EXPORTS.values()):
        importlib.import_module(module, __name__)
    found, todo = [], [importlib.import_module("._base", __name__).Autoencoder]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def __dir__():
    return sorted(set(globals()) | set(__all__))
