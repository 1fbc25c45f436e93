"""Exploratory check (issue 5): a U-Net (aekit.unet.UNet) as the natural-photograph denoiser.

Superseded by photo_heldout.py (more held-out photographs, the library's
DenoisingAutoencoder(architecture="unet")). The numbers below were measured
with the former eight TRAIN_PHOTOS; TRAIN_PHOTOS now holds thirteen.

Trains the U-Net on the denoise benchmark's training patches (32x32 patches of
its eight training photographs, sigma = 25/255, cosine schedule, batch 32) and
scores it on the HELD-OUT photographs used to choose the benchmark's net
(chelsea, a 320x320 crop of cell), never on the test photographs. One thread.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/checks/photo_unet_heldout.py 32,64,64 4 80000 1e-3

(channels, epochs, patches, learning rate). Measured (353 s each): chelsea
30.54 / 30.45 dB and cell 39.58 / 39.97 dB at lr 1e-3 / 2e-3, against 30.09 /
40.00 for the benchmark's fully_conv net and 29.47 / 38.35 for NLM.
"""
import sys, time, json, numpy as np, torch
ROOT = __import__('pathlib').Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'src')); sys.path.insert(0, str(ROOT / 'benchmarks'))
torch.set_num_threads(1)
from torch import nn
from denoise import _photo, TRAIN_PHOTOS
from aekit.images import sample_patches
from aekit.unet import UNet
from aekit.training import Trainer
from aekit.corruption import make_corruption
from aekit.metrics import psnr
from skimage.restoration import denoise_nl_means
chans = tuple(int(c) for c in sys.argv[1].split(','))
epochs = int(sys.argv[2]); n = int(sys.argv[3]); lr = float(sys.argv[4])
sigma = 25/255
class W(nn.Module):
    def __init__(s, net): super().__init__(); s.net = net
    def encode(s, x): return x
    def decode(s, z): return s.net(z)
    def decode_logits(s, z): return s.net(z)
    def forward(s, x): return s.net(x)
imgs = [_photo(p) for p in TRAIN_PHOTOS]
X = sample_patches(imgs, (32, 32), n, seed=0)
torch.manual_seed(0)
net = W(UNet((32, 32), chans))
tic = time.perf_counter()
tr = Trainer(net, corruption=make_corruption("gaussian", sigma), learning_rate=lr, lr_schedule="cosine",
             batch_size=32, max_epochs=epochs, n_iter_no_change=1000)
tr.fit(torch.from_numpy(X))
print(chans, epochs, n, lr, 'train s', round(time.perf_counter()-tic), flush=True)
class Est:  # what denoise_image needs
    image_shape = (32, 32)
    def reconstruct(self, A):
        with torch.inference_mode():
            return net.eval()(torch.from_numpy(np.ascontiguousarray(A, dtype=np.float32))).numpy()
from aekit.images import denoise_image
import skimage.data
held = {"chelsea": _photo("chelsea"), "cell": _photo("cell")[:320, :320]}
for name, clean in held.items():
    noisy = (clean + sigma*np.random.default_rng(7).standard_normal(clean.shape)).astype(np.float32)
    try:
        den = np.clip(denoise_image(Est(), noisy, stride=8), 0, 1)
    except Exception as e:
        print('denoise_image failed', e); raise
    print(name, 'unet', round(psnr(clean.reshape(1,-1), den.reshape(1,-1)), 2), flush=True)

