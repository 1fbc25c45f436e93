"""aekit: autoencoders on PyTorch with a scikit-learn interface."""

__version__ = "0.1.0"
