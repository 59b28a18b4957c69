"""Export a PixelCNN training run to a shipped integer model (``python -m arcodec.train.pixelcnn
export``): converts the final QAT checkpoint, measures the float (before QAT), QAT and integer
NLL, and writes safetensors with the config and provenance."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch

from ..models.pixelcnn_int import IntPixelCNN, to_integer
from ..weights import save_weights
from .data import mnist


@torch.no_grad()
def int_nll_bits_per_dim(imodel: IntPixelCNN, x: torch.Tensor, batch: int = 50) -> float:
    """Mean -log2 of the integer model's frequencies of the samples of ``x`` (N, C, H, W)."""
    total = 0.0
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        f = imodel.forward_freqs(xb)
        p = torch.gather(f, -1, xb.long()[..., None])[..., 0].double()
        total += float((imodel.cfg.freq_bits - torch.log2(p)).sum())
    return total / x.numel()


def recipe_line(recipe: str, step: int, info: dict) -> str:
    """How the run was trained, for the weight file's metadata: the command with the settings
    the last checkpoint records (runs from before they were recorded give only --init)."""
    opts = [f"--init {info['init']}"] if info.get("init") else []
    opts += [f"--{k.replace('_', '-')} {v:g}" if isinstance(v, float) else
             f"--{k.replace('_', '-')} {v}" for k, v in info.get("settings", {}).items()]
    return (f"python -m arcodec.train.pixelcnn train --recipe {recipe} " + " ".join(opts)
            + f" (stopped at step {step}, {info.get('minutes', 0):.0f} min); export")


def export(a) -> None:
    from .pixelcnn import MODEL_CODES, Sampler, evaluate, load_ckpt
    torch.set_num_threads(a.threads)
    run = Path(a.run)
    model, step, info = load_ckpt(run / "last.safetensors")
    fmodel = load_ckpt(run / "float.safetensors")[0] if (run / "float.safetensors").exists() \
        else model
    data = Sampler(a.recipe, a.data_dir, 0)
    if a.recipe == "mnist":
        test = torch.from_numpy(mnist("t10k", a.data_dir)[:, None].copy())
        test_name = "MNIST t10k (10,000 digits, 8-bit)"
    else:
        test = data.val
        test_name = "photos-train held-out files (8 files x 16 crops of 32x32)"
    tensors = to_integer(model)
    imodel = IntPixelCNN(model.cfg, tensors)
    res = {"float": evaluate(fmodel, test, False), "qat": evaluate(model, test, True),
           "int": int_nll_bits_per_dim(imodel, test)}
    name = f"pixelcnn-{a.recipe}"
    domain = "8-bit gray 28x28 (digits)" if a.recipe == "mnist" else "8-bit RGB photos"
    meta = {"name": name, "domain": domain,
            "train_data": "MNIST train split, first 55,000 (last 5,000 validation)"
            if a.recipe == "mnist" else "photos-train/ (all but the last 8 files), 32x32 crops",
            "recipe": recipe_line(a.recipe, step, info),
            "test_set": test_name,
            "test_bits_float": f"{res['float']:.4f}", "test_bits_qat": f"{res['qat']:.4f}",
            "test_bits_int": f"{res['int']:.4f}", "test_bits_per_dim": f"{res['int']:.4f}"}
    retired = save_weights(Path(a.out), "pixelcnn", asdict(model.cfg), tensors, meta,
                           MODEL_CODES[a.recipe] if a.register else None)
    print(json.dumps(meta, indent=1))
    if retired:
        print(f"the weights it replaces stay in the registry as {retired}")
