"""Replay the context mixer on cached model logits: how mixer changes are measured and tuned
(on training text only, never on the test texts).

    python -m benchmarks.mixer_replay --data-dir DATA --set books4 --mixer 1 2
    python -m benchmarks.mixer_replay --files a.txt b.txt --bytes 1000000
    python -m benchmarks.mixer_replay --set books4 --bytes 1048576 --no-model --baseline

The byte model's integer logits for every position, in the bytes codec's stream layout, are
computed once and cached under ``--cache`` (n x 256 int16, keyed by content and model); each
run then replays only the mixer, exactly as the codec drives it, and prints the NLL of the
coded tables in bits/byte (the codec's payload is within 0.1% + 8 bytes of it). A replay of
4 MiB takes about 2 minutes on one CPU core, the logits about 2 minutes more, once.
``--no-model`` replays the mixer with all model logits zero: what the file's own statistics
alone are worth; ``--baseline`` also prints what zpaq -m5 makes of the same bytes.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from arcodec import api, coding
from arcodec.errors import ArcodecError
from arcodec.codecs import bytes_stream
from arcodec.codecs import bit_tables
from arcodec.codecs.bit_mix import make_mixer, node_bits
from arcodec.codecs.context_mix import ContextMixer
from arcodec.train.data import data_dir

from . import baselines

# named tuning sets: files under DATA/text-train, concatenated and cut to a size
SETS = {
    "books4": (["books/austen_emma.txt", "books/defoe_robinson_crusoe.txt",
                "books/melville_moby_dick.txt", "books/darwin_voyage_of_the_beagle.txt"], 4 << 20),
    "book500k": (["books/hawthorne_scarlet_letter.txt"], 500_000),
    "wiki1m": (["wiki"], 1 << 20),
}


def load_input(files: list[Path], limit: int) -> bytes:
    """The files (folders: their files in sorted order) concatenated, cut to ``limit`` bytes."""
    out = bytearray()
    for f in files:
        if not f.exists():
            raise FileNotFoundError(f"no such file or folder: {f}")
        found = [f] if f.is_file() else sorted(
            q for q in f.rglob("*") if q.is_file() and q.name not in ("PROVENANCE.md", "SHA256SUMS"))
        for p in found:
            out += p.read_bytes()
            if len(out) >= limit:
                return bytes(out[:limit])
    return bytes(out)


@torch.no_grad()
def model_logits(model, data: bytes, out: np.ndarray | None = None) -> np.ndarray:
    """(n, 256) int16 logits the integer byte ``model`` gives the mixer at every position,
    stepping the streams exactly as ``bytes_stream.encode`` does (|logit| <= LOGIT_MAX)."""
    n = len(data)
    out = np.zeros((n, 256), dtype=np.int16) if out is None else out
    buf = np.frombuffer(data, dtype=np.uint8)
    ns = bytes_stream.streams_for(n)
    if ns == 0:
        return out
    state = model.init_state(ns)
    for k, a, pos in bytes_stream._steps(n, ns):
        state = model.take(state, a)
        out[pos] = model.logits(state).cpu().numpy()
        state = model.step(state, torch.from_numpy(buf[pos].astype(np.int64)).to(model.device))
    return out


def cached_logits(data: bytes, model_name: str, cache: Path) -> np.ndarray:
    """``model_logits`` of the shipped or given model, memory-mapped from ``cache``."""
    sess = api.Session("cpu")
    info = sess.resolve(model_name)
    key = hashlib.sha256(data + info.sha256.encode()).hexdigest()[:16]
    path = cache / f"{key}.i16"
    shape = (len(data), 256)
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")   # several runs may race
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.int16, shape=shape)
        model_logits(sess.model(info)[1], data, out)
        out.flush()
        del out
        tmp.replace(path)
    return np.load(path, mmap_mode="r")


def replay(data: bytes, logits: np.ndarray,
           make: Callable[[int, int], ContextMixer]) -> float:
    """NLL in bits of the tables the mixer ``make(n, n_streams)`` codes ``data`` with."""
    n = len(data)
    buf = np.frombuffer(data, dtype=np.uint8)
    ns = bytes_stream.streams_for(n)
    if ns == 0:
        return 0.0
    mixer = make(n, ns)
    bits = 0.0
    for k, a, pos in bytes_stream._steps(n, ns):
        sym = buf[pos].astype(np.int64)
        lg, ps, sy = (torch.from_numpy(t) for t in (logits[pos].astype(np.int64), pos, sym))
        if mixer.binary:                 # the bit or nibble tables of each byte (BitMixer)
            mixer.begin(lg, ps)
            nodes, b = node_bits(sy)
            bits += coding.nll_bits(*bit_tables.byte_rows(mixer.path_probs(nodes).numpy(),
                                                          b.numpy(), mixer.nibbles))
        else:
            bits += coding.nll_bits(sym, mixer.freqs(lg, ps).numpy())
        mixer.update(sy)
    return bits


def input_args(ap: argparse.ArgumentParser) -> None:
    """The options that choose what a replay codes (read back by ``replay_input``)."""
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--set", choices=sorted(SETS), help="a named set of text-train files")
    src.add_argument("--files", nargs="+", type=Path, help="files or folders to concatenate")
    ap.add_argument("--data-dir", help="data directory (default: $ARCODEC_DATA)")
    ap.add_argument("--bytes", type=int, help="cut the input to this many bytes")
    ap.add_argument("--model", default="charrnn-text", help="registry name or weight file")
    ap.add_argument("--no-model", action="store_true",
                    help="replay with all model logits zero (the mixer's own statistics alone)")
    ap.add_argument("--cache", type=Path, default=Path(".dev/replay"), help="logits cache folder")


def replay_input(a: argparse.Namespace) -> tuple[bytes, np.ndarray]:
    """(data, (n, 256) logits) the ``input_args`` options ``a`` name."""
    if a.set:
        names, limit = SETS[a.set]
        files = [data_dir(a.data_dir) / "text-train" / f for f in names]
    else:
        files, limit = a.files, 1 << 62
    data = load_input(files, a.bytes or limit)
    if a.no_model:
        return data, np.broadcast_to(np.zeros((1, 256), dtype=np.int16), (len(data), 256))
    return data, cached_logits(data, a.model, a.cache)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    input_args(ap)
    ap.add_argument("--mixer", type=int, nargs="+", default=[2], help="mixer versions to replay")
    ap.add_argument("--baseline", action="store_true",
                    help="also print the size zpaq -m5 gives the same bytes")
    a = ap.parse_args()
    data, logits = replay_input(a)
    torch.set_num_threads(1)
    for v in a.mixer:
        t = time.time()
        bits = replay(data, logits, lambda n, ns: make_mixer(v, n, ns))
        print(f"{a.set or 'files'} ({len(data):,} bytes) mixer {v}"
              f"{' without the model' if a.no_model else ''}: {bits / max(len(data), 1):.4f}"
              f" bits/byte ({time.time() - t:.0f} s)", flush=True)
    if a.baseline:
        if (m := baselines.missing("zpaq")) is not None:
            print(f"zpaq -m5: {m}")
        else:
            z = baselines.text_codec_bytes("zpaq -m5", data)
            print(f"zpaq -m5: {z:,} bytes = {8 * z / max(len(data), 1):.4f} bits/byte")


if __name__ == "__main__":
    try:
        main()
    except (OSError, ArcodecError) as e:
        sys.exit(f"mixer_replay: {e}")
