"""The sub-commands: the module that registers each one and its one-line help, in ``aekit --help`` order.

The table lives here, not in the command modules, so that ``aekit --help``, ``aekit --version`` and a mistyped
command answer without importing those modules (numpy) nor building their estimator flags (PyTorch and
scikit-learn, seconds). Each module's ``register`` takes its help text from :data:`HELP`.
"""

from __future__ import annotations

__all__ = ["COMMANDS", "HELP", "MODULE_OF"]

#: Module (relative to :mod:`aekit.cli`) -> {command: one-line help}, modules and commands in --help order.
COMMANDS = {
    "_train": {
        "train": "train an autoencoder and save it to a model directory",
        "encode": "write the codes (transform) of DATA as .npy",
        "reconstruct": "write the reconstructions of DATA as .npy",
        "decode": "write the data decoded (inverse_transform) from codes as .npy",
    },
    "_info": {"info": "describe a saved model or a checkpoint"},
    "_errors": {"errors": "write each sample's reconstruction error (anomaly scores) as .npy"},
    "_evaluate": {
        "evaluate": "measure a saved model on data (error, PSNR, denoising, imputation)",
        "impute": "fill the missing values (NaN, empty CSV cells) of a table",
    },
    "_compare": {"compare": "autoencoder vs PCA: table and figure"},
    "_sweep": {"sweep": "autoencoder vs PCA at several code sizes: table and figure"},
    "_features": {"features": "write the codes of DATA as features (.npy) and print their sparsity"},
    "_denoise": {
        "train-denoiser": "train a patch denoiser on clean images",
        "denoise": "denoise images of any size with a patch model",
        "inpaint": "fill the masked pixels of an image",
    },
    "_reproduce": {"reproduce": "reproduce a published experiment (hinton2006)"},
    "_sample": {"sample": "draw new samples from a variational autoencoder (.npy, image grid)"},
}

#: Command -> its one-line help.
HELP = {command: text for commands in COMMANDS.values() for command, text in commands.items()}

#: Command -> the module that registers it.
MODULE_OF = {command: module for module, commands in COMMANDS.items() for command in commands}
