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
AutoencoderImputer
    scikit-learn imputer: learns from data with NaNs and fills them.

Functions
---------
load
    Load a model directory written by ``estimator.save(path)``.
"""

__version__ = "0.1.0"

from ._base import Autoencoder  # noqa: E402
from .denoising import DenoisingAutoencoder  # noqa: E402
from .impute import AutoencoderImputer  # noqa: E402
from .persistence import load  # noqa: E402
from .sparse import SparseAutoencoder  # noqa: E402

__all__ = ["Autoencoder", "SparseAutoencoder", "DenoisingAutoencoder", "AutoencoderImputer", "load", "__version__"]
