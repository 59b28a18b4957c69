"""Model weight files: safetensors tensors + architecture config + provenance, never pickles."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from .errors import ModelError


def save_weights(path: Path, arch: str, config: dict, tensors: dict[str, torch.Tensor],
                 meta: dict[str, str]) -> None:
    """Write an integer model: tensors plus ``arch``, ``config`` (JSON) and string metadata."""
    md = {**meta, "arch": arch, "config": json.dumps(config, sort_keys=True)}
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.contiguous() for k, v in sorted(tensors.items())}, str(tmp), metadata=md)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_weights(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """(metadata with 'arch' and 'config', tensors) of a weight file; ModelError if unreadable."""
    try:
        with safe_open(str(path), "pt") as f:
            meta = dict(f.metadata() or {})
        tensors = load_file(str(path))
    except Exception as e:  # safetensors raises several types for bad files
        raise ModelError(f"{path}: not a readable safetensors weight file ({e})") from None
    if "arch" not in meta or "config" not in meta:
        raise ModelError(f"{path}: weight file has no arch/config metadata")
    return meta, tensors


def register(path: Path, name: str, code: int, domain: str, bits_per_dim: str) -> None:
    """Add or update a shipped model in ``registry.json`` beside ``path`` (sha256 of the file)."""
    reg_path = path.parent / "registry.json"
    reg = json.loads(reg_path.read_text()) if reg_path.exists() else {}
    reg[name] = {"file": path.name, "sha256": file_sha256(path), "code": code,
                 "domain": domain, "bits_per_dim": bits_per_dim}
    reg_path.write_text(json.dumps(reg, indent=1, sort_keys=True) + "\n")
