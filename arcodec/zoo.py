"""Model registry: shipped models (package data, sha256-pinned) and user weight files.

A model is found by registry name (``made-mnist``) or by a path to a ``.safetensors`` file made by
arcodec's training code. Shipped files are verified against the full sha256 in ``registry.json``
before use. An .arc file names its model by number (shipped) or name (user) plus the first 4 bytes
of the weights' sha256.

When a shipped model is retrained, its new weights take the name and number; the old weights stay
in the registry as a *legacy* entry with the same number (``"legacy": true``, a name such as
``pixelcnn-photo.v1``), so files written with them still decode. Compression never picks a
legacy entry unless it is named.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Callable

import torch

from .errors import ModelError
from .weights import file_sha256, load_weights


@dataclass(frozen=True)
class ModelInfo:
    name: str                 # registry name, or the file stem of a user model
    code: int                 # number stored in .arc headers (0: user model, named by ``name``)
    path: Path
    sha256: str               # hex digest of the weight file
    domain: str               # what the model codes, for ``arcodec models``
    bits_per_dim: str         # measured test bits/dim (integer model), from the file's metadata
    legacy: bool = False      # older weights of a shipped model, kept so old files decode

    @property
    def hash4(self) -> bytes:
        return bytes.fromhex(self.sha256[:8])


@dataclass
class LoadedModel:
    info: ModelInfo
    arch: str                            # "made", ...
    config: dict                         # architecture config (rebuilds the model)
    meta: dict[str, str]                 # provenance metadata of the weight file
    tensors: dict[str, torch.Tensor]     # integer model tensors


def _weights_dir() -> Path:
    return Path(str(resources.files("arcodec") / "weights"))


@lru_cache(maxsize=1)
def registry() -> dict[str, dict]:
    """name -> {"file", "sha256", "code", "domain", "bits_per_dim"[, "legacy"]} of the shipped
    models."""
    p = _weights_dir() / "registry.json"
    return json.loads(p.read_text()) if p.exists() else {}


def shipped() -> list[ModelInfo]:
    return [ModelInfo(name, e["code"], _weights_dir() / e["file"], e["sha256"], e["domain"],
                      e.get("bits_per_dim", "?"), bool(e.get("legacy", False)))
            for name, e in sorted(registry().items())]


def shipped_name(code: int, hash4: bytes | None = None) -> str | None:
    """Registry name for a header's model number: the entry whose weights match ``hash4`` if
    one does (legacy entries included), else the current (non-legacy) one; None if unknown."""
    entries = [m for m in shipped() if m.code == code]
    match = next((m for m in entries if hash4 is not None and m.hash4 == hash4), None)
    current = next((m for m in entries if not m.legacy), entries[0] if entries else None)
    pick = match or current
    return pick.name if pick else None


def resolve(spec: str) -> ModelInfo:
    """Registry name or weight-file path -> ModelInfo (file hashed, shipped hash verified)."""
    for m in shipped():
        if m.name == spec:
            if not m.path.exists():
                raise ModelError(f"shipped model {spec} is missing its weight file {m.path}")
            digest = file_sha256(m.path)
            if digest != m.sha256:
                raise ModelError(f"weights of {spec} fail their sha256 check "
                                 f"(expected {m.sha256[:16]}…, found {digest[:16]}…)")
            return m
    p = Path(spec)
    if not p.is_file():
        names = ", ".join(m.name for m in shipped()) or "none"
        raise ModelError(f"no model {spec!r} (installed: {names}; or give a .safetensors path)")
    meta, _ = load_weights(p)
    return ModelInfo(meta.get("name", p.stem), 0, p, file_sha256(p), meta.get("domain", "?"),
                     meta.get("test_bits_per_dim", "?"))


def find(code: int, name: str, hash4: bytes, user_model: str | None = None,
         resolve: Callable[[str], ModelInfo] = resolve) -> ModelInfo:
    """The model an .arc header asks for; ModelError names it when it is not available.
    ``resolve``: how a name or path becomes a ModelInfo (a session's cached resolver)."""
    shipped_as = shipped_name(code, hash4) if code != 0 else None
    want = name if code == 0 else (shipped_as or f"model #{code}")
    if user_model is not None:
        m = resolve(user_model)
    elif shipped_as is not None:
        m = resolve(shipped_as)
    else:
        raise ModelError(f"file needs model {want} (weights {hash4.hex()}), which is not "
                         "installed; pass --model PATH")
    if m.hash4 != hash4:
        raise ModelError(f"file needs model {want} with weights {hash4.hex()}, "
                         f"but {m.name} has weights {m.hash4.hex()}")
    return m


def load_meta(info: ModelInfo) -> dict[str, str]:
    """The weight file's metadata (arch, config, provenance) without loading tensors."""
    from safetensors import safe_open
    with safe_open(str(info.path), "pt") as f:
        return dict(f.metadata() or {})


def load(info: ModelInfo) -> LoadedModel:
    meta, tensors = load_weights(info.path)
    return LoadedModel(info, meta["arch"], json.loads(meta["config"]), meta, tensors)
