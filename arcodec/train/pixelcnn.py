"""Recipes of the shipped PixelCNN models (shared training code for both).

    python -m arcodec.train.pixelcnn train  --recipe mnist --out runs/pcnn-mnist [--minutes M]
    python -m arcodec.train.pixelcnn train  --recipe photo --out runs/pcnn-photo [--minutes M]
    python -m arcodec.train.pixelcnn export --recipe mnist --run runs/pcnn-mnist \
        --out arcodec/weights/pixelcnn-mnist.safetensors --register

``mnist``: 8-bit gray 28x28 MNIST, train split (last 5,000 held out for validation).
``photo``: random 32x32 RGB crops of the data dir's ``photos-train/`` (never Kodak); the last
8 files (sorted by name) are held out for validation (fixed crops).

Training runs for ``--steps`` steps or, with ``--minutes``, a wall-time budget (the schedule
then follows elapsed time): Adam with cosine decay; the last ``--qat`` fraction of the run trains on the integer grid (quantisation-aware). A checkpoint is written every
``--ckpt`` steps and at the end (``last.safetensors``); ``--resume`` continues a run;
``--init MODEL`` starts from a model's weights (a shipped name or a .safetensors file: its
float twin, ``models.build_float_model``), e.g. to train a shipped model further or to fine-tune
it on other images; its config must be the recipe's. The float
checkpoint taken just before QAT starts is kept as ``float.safetensors`` (its NLL is reported
as the float model's).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from ..models.pixelcnn import GRID, PixelCNN, PixelCNNConfig
from .data import data_dir, mnist

N_VAL_MNIST = 5000
N_VAL_PHOTO_FILES = 8
MODEL_CODES = {"mnist": 3, "photo": 4}   # numbers in .arc headers (never reuse)
RECIPES = {
    "mnist": dict(cfg=dict(channels=1, hidden=48, layers=6, first_r=2), batch=32, lr=2e-3),
    "photo": dict(cfg=dict(channels=3, hidden=72, layers=7, first_r=2, laplace=True), batch=16,
                  lr=3e-3,
                  crop=32),
}


def load_photos(root: str | None, split: str) -> list[np.ndarray]:
    """photos-train images as (3, H, W) uint8 arrays; split 'train' or 'val' (last 8 files).
    The folder may hold the PNGs or pixel-identical lossless WebP copies of them (smaller to move
    to a GPU machine); the sorted order, and so the split, is the same for both."""
    from PIL import Image
    d = data_dir(root) / "photos-train"
    files = sorted([*d.glob("*.png"), *d.glob("*.webp")])   # lossless WebP copies too
    if not files:
        raise FileNotFoundError(f"no PNG files in {d} (see the data dir's PROVENANCE.md)")
    if len(files) <= N_VAL_PHOTO_FILES:
        raise FileNotFoundError(f"{len(files)} photos in {d}: training needs more than "
                                f"{N_VAL_PHOTO_FILES} (the last {N_VAL_PHOTO_FILES} by name are "
                                "held out for validation)")
    files = files[:-N_VAL_PHOTO_FILES] if split == "train" else files[-N_VAL_PHOTO_FILES:]
    return [np.asarray(Image.open(f).convert("RGB")).transpose(2, 0, 1).copy() for f in files]


class Sampler:
    """Training batches and a fixed validation set for a recipe: (N, C, H, W) uint8 tensors."""

    def __init__(self, recipe: str, root: str | None, seed: int, crop: int | None = None):
        self.rng = np.random.default_rng(seed)
        self.recipe = recipe
        if recipe == "mnist":
            x = torch.from_numpy(mnist("train", root)[:, None].copy())
            self.train, self.val = x[:-N_VAL_MNIST], x[-N_VAL_MNIST:][:2000]
        else:
            self.crop = crop or RECIPES[recipe]["crop"]
            self.images = load_photos(root, "train")
            vrng, crop_val = np.random.default_rng(1234), RECIPES[recipe]["crop"]
            self.val = torch.from_numpy(np.stack(
                [self._crop(im, vrng, crop_val) for im in load_photos(root, "val")
                 for _ in range(16)]))

    @staticmethod
    def _crop(im: np.ndarray, rng, c: int) -> np.ndarray:
        y = rng.integers(0, im.shape[1] - c + 1)
        x = rng.integers(0, im.shape[2] - c + 1)
        return im[:, y:y + c, x:x + c]

    def batch(self, n: int) -> torch.Tensor:
        if self.recipe == "mnist":
            return self.train[torch.from_numpy(self.rng.integers(0, len(self.train), n))]
        idx = self.rng.integers(0, len(self.images), n)
        out = np.stack([self._crop(self.images[i], self.rng, self.crop) for i in idx])
        flip = self.rng.random(n) < 0.5
        out[flip] = out[flip][..., ::-1]
        return torch.from_numpy(np.ascontiguousarray(out))


def save_ckpt(model: PixelCNN, opt, step: int, info: dict, path: Path) -> None:
    t = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"config": json.dumps(asdict(model.cfg)), "info": json.dumps(info),
            "step": str(step)}
    tmp = path.with_name(path.name + ".tmp")
    save_file(t, str(tmp), metadata=meta)
    tmp.replace(path)
    if opt is not None:
        torch.save(opt.state_dict(), path.with_suffix(".opt"))  # own file, never shipped


def load_ckpt(path: Path) -> tuple[PixelCNN, int, dict]:
    with safe_open(str(path), "pt") as f:
        md = f.metadata()
    model = PixelCNN(PixelCNNConfig(**json.loads(md["config"])))
    t = load_file(str(path))
    model.load_state_dict({k[6:]: v for k, v in t.items() if k.startswith("model.")})
    return model, int(md["step"]), json.loads(md["info"])


@torch.no_grad()
def evaluate(model: PixelCNN, x: torch.Tensor, quant: bool, batch: int = 250) -> float:
    """Mean NLL in bits per sub-pixel of ``x`` (N, C, H, W), on the model's device."""
    model.eval()
    dev = next(model.parameters()).device
    tot = sum(float(model.nll_bits(x[i:i + batch].to(dev), quant).sum())
              for i in range(0, len(x), batch))
    model.train()
    return tot / x.numel()


def train(a) -> None:
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rec = dict(RECIPES[a.recipe])
    rec.update({k: v for k, v in (("batch", a.batch), ("crop", a.crop)) if v})
    cfg = PixelCNNConfig(**{**rec["cfg"], **{k: getattr(a, k) for k in GRID if getattr(a, k)}})
    dev = torch.device(a.device)
    data = Sampler(a.recipe, a.data_dir, a.seed, rec.get("crop"))
    done_min = 0.0
    init_label = None                                  # provenance of --init weights
    base_lr = a.lr or rec["lr"]
    settings = {"lr": base_lr, "qat": a.qat, "batch": rec["batch"],
                **({"crop": rec["crop"]} if "crop" in rec else {}),
                **{k: getattr(cfg, k) for k in GRID}, "seed": a.seed,
                **({"minutes": a.minutes} if a.minutes else {"steps": a.steps})}
    if a.resume and (out / "last.safetensors").exists():
        model, step, info = load_ckpt(out / "last.safetensors")
        total, done_min = info["total_steps"], info.get("minutes", 0.0)
        init_label = info.get("init")
        settings = info.get("settings", settings)      # a resumed run keeps its own
    elif a.init:
        model, init_label = init_model(a.init, cfg)
        step, total = 0, a.steps
    else:
        model, step, total = PixelCNN(cfg), 0, a.steps
    model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=base_lr)
    if step and (out / "last.opt").exists():
        opt.load_state_dict(torch.load(out / "last.opt", weights_only=True, map_location=dev))
    log = open(out / "log.jsonl", "a")
    t0, run, seen = time.time(), 0.0, 0
    budget = a.minutes or float("inf")

    def progress() -> float:
        """Fraction of the run done: by steps, or by time when a --minutes budget is given."""
        return max(step / total, (done_min + (time.time() - t0) / 60) / budget)

    model.train()
    quant = (out / "float.safetensors").exists()
    while progress() < 1:
        if not quant and progress() >= 1 - a.qat:
            quant = True
            save_ckpt(model, None, step, {"val_bits": evaluate(model, data.val, False),
                                          "total_steps": total,
                                          **({"init": init_label} if init_label else {}),
                                          "settings": settings,
                                          "minutes": done_min + (time.time() - t0) / 60},
                      out / "float.safetensors")
        lr = base_lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress())))
        for g in opt.param_groups:
            g["lr"] = lr
        xb = data.batch(rec["batch"]).to(dev, non_blocking=True)
        loss = model.nll_bits(xb, quant).sum() / xb.numel()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        run += loss.item()
        seen += 1
        last = progress() >= 1
        if step % a.ckpt == 0 or last:
            info = {"step": step, "total_steps": total, "train_bits": run / seen,
                    **({"init": init_label} if init_label else {}), "settings": settings,
                    "val_bits": evaluate(model, data.val, quant), "quant": quant,
                    "lr": lr, "minutes": done_min + (time.time() - t0) / 60}
            print(json.dumps(info), flush=True)
            log.write(json.dumps(info) + "\n")
            log.flush()
            save_ckpt(model, opt, step, info, out / "last.safetensors")
            run, seen = 0.0, 0


def init_model(spec: str, cfg: PixelCNNConfig) -> tuple[PixelCNN, str]:
    """The float32 PixelCNN of a model's weights (registry name or path) to train further, and
    where it came from ("NAME (weights HASH8)", recorded in the checkpoints and the export)."""
    from .. import zoo
    from ..models import build_float_model
    info = zoo.resolve(spec)
    lm = zoo.load(info)
    # the grid (z_one, g_max, s_one) may differ: the float network is the same, QAT moves it
    # to ours
    grid = {k: getattr(cfg, k) for k in GRID}
    if lm.arch != "pixelcnn" or replace(PixelCNNConfig(**lm.config), **grid) != cfg:
        raise SystemExit(f"--init {spec}: its architecture is not this recipe's "
                         f"({lm.arch} {lm.config} vs {asdict(cfg)})")
    model = PixelCNN(cfg)
    model.load_state_dict(build_float_model(lm.arch, lm.config, lm.tensors).state_dict())
    return model.float().train(), f"{spec} (weights {info.sha256[:8]})"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m arcodec.train.pixelcnn")
    ap.add_argument("command", choices=["train", "export"])
    ap.add_argument("--recipe", choices=sorted(RECIPES), required=True)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--run", default=None, help="training run folder (export)")
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--minutes", type=float, default=0,
                    help="wall-time budget; the schedule follows time")
    ap.add_argument("--qat", type=float, default=0.2, help="fraction of steps trained with QAT")
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--ckpt", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="torch device for training: cpu, cuda")
    ap.add_argument("--batch", type=int, default=0, help="examples per step (0: the recipe's)")
    ap.add_argument("--crop", type=int, default=0, help="photo crop side (0: the recipe's)")
    ap.add_argument("--z-one", type=int, default=0,
                    help="gate pre-activations in 1/Z steps (0: the config default, 32; the "
                         "rounding cost measured on the MNIST model: 0.8%% at 32)")
    ap.add_argument("--g-max", type=int, default=0,
                    help="gate outputs in 1/G steps, G <= 255 (0: the config default, 127)")
    ap.add_argument("--s-one", type=int, default=0,
                    help="skip sum and head hidden layer in 1/S steps (0: the config default, "
                         "32; scripts/pixelcnn_rounding.py measures what each grid costs)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", default=None, help="start from this model's weights (registry "
                    "name or .safetensors path)")
    ap.add_argument("--register", action="store_true")
    a = ap.parse_args(argv)
    if a.command == "train":
        train(a)
    else:
        from .pixelcnn_export import export
        export(a)


if __name__ == "__main__":
    main()
