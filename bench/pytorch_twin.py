#!/usr/bin/env python3
"""PyTorch twin of `vae bench`: the same presets, batch, loss and optimizer,
timed the same way, printed as the same JSON line.

    python bench/pytorch_twin.py --preset conv --steps 50 --threads 2

Each preset mirrors `VaeConfig::preset` in src/config/presets.rs layer for layer
(PyTorch's default init, Adam with PyTorch's defaults at lr 1e-3, the loss
`mean_B(sum_D recon + beta * KL)`). Images are random pixels of the preset's
shape: the step's cost does not depend on their content. Bench-only code:
no test imports it, and `make bench` runs it only where PyTorch is installed.
"""

import argparse
import json
import time

import torch
from torch import nn
import torch.nn.functional as F

# name: (channels, side, kernel, padding, output_padding, hidden, latent, recon)
CONV = {
    "conv": (1, 28, 4, 1, 0, 256, 16, "bce"),
    "conv2": (1, 28, 3, 1, 1, 128, 2, "bce"),
    "cifar": (3, 32, 4, 1, 0, 256, 32, "gaussian"),
}
# name: (hidden, latent, recon), all on 28x28 grey.
MLP = {
    "mlp": (400, 20, "bce"),
    "mlp-small": (64, 20, "bce"),
    "latent100": (512, 100, "gaussian"),
}
PRESETS = list(MLP) + list(CONV)


class Vae(nn.Module):
    def __init__(self, encoder, hidden, latent, decoder, recon):
        super().__init__()
        self.encoder = encoder
        self.fc_mu = nn.Linear(hidden, latent)
        self.fc_logvar = nn.Linear(hidden, latent)
        self.decoder = decoder
        self.recon = recon

    def loss(self, x):
        h = self.encoder(x)
        mu, logvar = self.fc_mu(h), self.fc_logvar(h)
        logvar = logvar.clamp(-30.0, 20.0)  # as the Rust backends do
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = self.decoder(z)
        if self.recon == "bce":
            rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        else:
            rec = ((torch.sigmoid(logits) - x) ** 2).sum()
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum()
        return (rec + kl) / x.shape[0]


def build(preset):
    """The model and the shape of one image, `(C, H, W)`."""
    if preset in MLP:
        hidden, latent, recon = MLP[preset]
        d = 28 * 28
        enc = nn.Sequential(nn.Flatten(), nn.Linear(d, hidden), nn.ReLU())
        dec = nn.Sequential(
            nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, d),
            nn.Unflatten(1, (1, 28, 28)),
        )
        return Vae(enc, hidden, latent, dec, recon), (1, 28, 28)
    c, side, k, p, op, hidden, latent, recon = CONV[preset]
    s = -(-side // 4)  # the side after two stride-2 convolutions
    enc = nn.Sequential(
        nn.Conv2d(c, 32, k, 2, p), nn.ReLU(),
        nn.Conv2d(32, 64, k, 2, p), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * s * s, hidden), nn.ReLU(),
    )
    dec = nn.Sequential(
        nn.Linear(latent, hidden), nn.ReLU(),
        nn.Linear(hidden, 64 * s * s), nn.ReLU(),
        nn.Unflatten(1, (64, s, s)),
        nn.ConvTranspose2d(64, 32, k, 2, p, output_padding=op), nn.ReLU(),
        nn.ConvTranspose2d(32, c, k, 2, p, output_padding=op),
    )
    return Vae(enc, hidden, latent, dec, recon), (c, side, side)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", choices=PRESETS, default=None,
                    help="only this preset [default: all]")
    ap.add_argument("--steps", type=int, default=50,
                    help="timed steps per preset (after 5 warm-up steps)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2,
                    help="torch.set_num_threads (and interop threads)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    for preset in [args.preset] if args.preset else PRESETS:
        model, shape = build(preset)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        data = torch.rand(2048, *shape)

        def step():
            idx = torch.randint(0, data.shape[0], (args.batch,))
            loss = model.loss(data[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss

        for _ in range(5):
            step()
        start = time.perf_counter()
        for _ in range(args.steps):
            loss = step()
        loss.item()
        secs = time.perf_counter() - start
        print(json.dumps({
            "adapter": f"pytorch {torch.__version__} cpu, {torch.get_num_threads()} threads",
            "backend": "pytorch-cpu",
            "batch": args.batch,
            "images_per_sec": args.batch * args.steps / secs,
            "ms_per_step": secs * 1e3 / args.steps,
            "preset": preset,
            "steps": args.steps,
        }, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
