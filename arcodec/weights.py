"""Model weight files: safetensors tensors + architecture config + provenance, never pickles."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save

from .errors import ModelError


def save_weights(path: Path, arch: str, config: dict, tensors: dict[str, torch.Tensor],
                 meta: dict[str, str], register_code: int | None = None) -> str | None:
    """Write an integer model: tensors plus ``arch``, ``config`` (JSON) and string metadata.

    With ``register_code``, also install it as the shipped model ``meta["name"]`` (number
    ``register_code``; ``meta`` has "domain" and "test_bits_per_dim") in the registry beside
    ``path``, keeping the weights it replaces as a legacy entry: returns that entry's name
    (see ``register``)."""
    md = {**meta, "arch": arch, "config": json.dumps(config, sort_keys=True)}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(_canonical(save({k: v.contiguous() for k, v in tensors.items()},
                                    metadata=md)))
    os.chmod(tmp, 0o644)
    if register_code is None:
        os.replace(tmp, path)
        return None
    try:
        return register(tmp, path, meta["name"], register_code, meta["domain"],
                        meta["test_bits_per_dim"])
    finally:
        tmp.unlink(missing_ok=True)             # left only if registering failed


def _canonical(raw: bytes) -> bytes:
    """The safetensors file ``raw`` with its JSON header's keys sorted. safetensors writes the
    metadata in no fixed order, so the same weights would give files (and weights hashes) that
    differ from export to export; sorted, the bytes depend only on the tensors and metadata."""
    n = int.from_bytes(raw[:8], "little")
    header = json.dumps(json.loads(raw[8:8 + n]), sort_keys=True, separators=(",", ":"),
                        ensure_ascii=False).encode()
    header += b" " * (-len(header) % 8)             # the format pads the header to 8 bytes
    return len(header).to_bytes(8, "little") + header + raw[8 + n:]


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


def register(src: Path, dest: Path, name: str, code: int, domain: str,
             bits_per_dim: str) -> str | None:
    """Move the weight file ``src`` (in the same folder) to ``dest``, the shipped model ``name``
    in the folder of ``registry.json``, and record its sha256 there.

    If ``name`` is registered with other weights, those are kept, not overwritten: their file is
    renamed ``NAME.vK.safetensors`` and registered as the legacy entry ``NAME.vK`` (same number,
    ``"legacy": true``), so .arc files written with them still decode. Returns that legacy
    name, or None when nothing was retired."""
    folder = dest.parent
    reg_path = folder / "registry.json"
    reg = json.loads(reg_path.read_text()) if reg_path.exists() else {}
    new_sha = file_sha256(src)
    old = reg.get(name)
    retired = None
    if old and old["sha256"] != new_sha and (folder / old["file"]).exists() \
            and file_sha256(folder / old["file"]) == old["sha256"]:
        k = 1
        while f"{name}.v{k}" in reg or (folder / f"{name}.v{k}.safetensors").exists():
            k += 1
        retired = f"{name}.v{k}"
        os.replace(folder / old["file"], folder / f"{retired}.safetensors")
        reg[retired] = {**old, "file": f"{retired}.safetensors", "legacy": True}
    os.replace(src, dest)
    reg[name] = {"file": dest.name, "sha256": new_sha, "code": code,
                 "domain": domain, "bits_per_dim": bits_per_dim}
    tmp = reg_path.with_name(reg_path.name + ".tmp")
    tmp.write_text(json.dumps(reg, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, reg_path)
    return retired
