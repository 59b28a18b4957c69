"""Suite: charrnn-text on the Canterbury corpus and the large corpus against classical codecs,
plus throughput on 1 MB of English text and the cost of coding in parallel streams.
``$ARCODEC_BENCH_TEXT``: a folder whose files (every regular file in it, by name) join the
table, with the same baselines."""
from __future__ import annotations

import os
import time
from pathlib import Path


import arcodec
from arcodec import zoo
from arcodec.codecs import bytes_stream

from . import baselines, nll_gap, within_bound

QUICK_FILES = ["cantrbry/alice29.txt", "cantrbry/fields.c", "cantrbry/grammar.lsp",
               "cantrbry/xargs.1", "cantrbry/cp.html"]
FULL_FILES = ["cantrbry/" + n for n in ("alice29.txt", "asyoulik.txt", "cp.html", "fields.c",
              "grammar.lsp", "kennedy.xls", "lcet10.txt", "plrabn12.txt", "ptt5", "sum",
              "xargs.1")] + ["large/bible.txt", "large/world192.txt"]


ADAPT_MIN_BYTES = 100_000     # full run: files this long are also coded with --adapt


def _round_trip(data: bytes, session, adapt: bool = False, model: str | None = None,
                mix: bool = True):
    """(compress Result, restored bytes, encode seconds, decode seconds)."""
    t0 = time.perf_counter()
    r = arcodec.compress_bytes(data, model, session=session, adapt=adapt, mix=mix)
    t1 = time.perf_counter()
    back = arcodec.decompress_bytes(r.data, session=session).data
    return r, back, t1 - t0, time.perf_counter() - t1


def _one(path: Path, session, adapt: bool = False, limit: int | None = None) -> dict:
    """One file through compress + decompress as a user runs it (the default model, or xz /
    stored where smaller). The model's own payload is checked against its NLL either way."""
    data = path.read_bytes()[:limit]
    r, back, t_enc, t_dec = _round_trip(data, session, adapt)
    n = max(len(data), 1)
    model_payload = r.model_payload_bytes if r.nll_model else r.payload_bytes
    return {"file": path.name + ("" if limit is None else f" (first {len(data):,} bytes)"),
            "bytes": len(data), "arc_bytes": len(r.data), "adapt": adapt,
            "codec": r.model, "model": r.nll_model or r.model,
            "streams": bytes_stream.streams_for(len(data)),
            "payload_bits_per_byte": 8 * r.payload_bytes / n,
            "model_payload_bits_per_byte": 8 * model_payload / n,
            "int_nll_bits_per_byte": r.nll_bits / n,
            "plain_nll_bits_per_byte": None if adapt else plain_nll(data, session) / n,
            "float_nll_bits_per_byte": None if adapt else float_nll(data, session) / n,
            "within_bound": bool(len(data) == 0 or
                                 within_bound(8 * model_payload, r.nll_bits)),
            "round_trip_exact": back == data, "encode_s": t_enc, "decode_s": t_dec,
            "encode_kb_per_s": len(data) / 1000 / t_enc, "decode_kb_per_s": len(data) / 1000 / t_dec}


def plain_nll(data: bytes, session) -> float:
    """Integer NLL in bits of the model alone (no context mixing, no adaptation)."""
    im = session.model(session.resolve("charrnn-text"))[1]
    return bytes_stream.encode(im, data, bytes_stream.streams_for(len(data)))[1]


def float_nll(data: bytes, session) -> float:
    """NLL in bits of the float model of the shipped weights, over the coder's streams."""
    fm = nll_gap.float_model(session, "charrnn-text")[0]
    return nll_gap.charrnn_float_bits(fm, data, bytes_stream.streams_for(len(data)))


def stream_cost(data: bytes, session) -> dict:
    """Integer NLL of ``data`` coded in the default number of streams vs one stream."""
    lm, im = session.model(session.resolve("charrnn-text"))
    n = bytes_stream.streams_for(len(data))
    _, many = bytes_stream.encode(im, data, n)
    _, one = bytes_stream.encode(im, data, 1)
    return {"bytes": len(data), "streams": n, "bits_per_byte_streams": many / len(data),
            "bits_per_byte_one_stream": one / len(data), "cost_pct": 100 * (many - one) / one}


def run(data_dir, quick: bool, session) -> dict:
    root = Path(data_dir) / "text"
    files = QUICK_FILES if quick else FULL_FILES
    missing_files = [f for f in files if not (root / f).exists()]
    if missing_files:
        raise FileNotFoundError(f"text data missing: {', '.join(missing_files)} under {root}")
    files = files + folder_files(os.environ.get("ARCODEC_BENCH_TEXT"))
    info = session.resolve("charrnn-text")
    meta = zoo.load_meta(info)
    rows = [_one(root / f, session) for f in files]
    if quick:      # --adapt on the first 32 KB of a long text
        adapt_rows = [_one(root / "large/bible.txt", session, True, 32_768)]
        adapt_rows.append(_one(root / "large/bible.txt", session, False, 32_768))
    else:
        adapt_rows = [_one(root / f, session, True) for f, r in zip(files, rows)
                      if r["bytes"] >= ADAPT_MIN_BYTES and r["codec"] == "charrnn-text"
                      or f.startswith("large/")]
    base: dict[str, dict] = {}
    for name, tool in baselines.TEXT_TOOLS.items():
        if (m := baselines.missing(tool)) is not None:
            base[name] = {"missing": m}
        else:
            base[name] = {r["file"]: baselines.text_codec_bytes(name, (root / f).read_bytes())
                          for r, f in zip(rows, files)}
    speed, speed_plain = english_throughput(root, quick, session)
    cost = stream_cost((root / "cantrbry/alice29.txt").read_bytes()[: 20_000 if quick else None],
                       session)
    return {"suite": "text", "model": info.name, "weights_sha256": info.sha256,
            "float_val_bits_per_byte": meta.get("val_bits_per_byte_float"),
            "qat_val_bits_per_byte": meta.get("val_bits_per_byte_qat"),
            "int_val_bits_per_byte": meta.get("val_bits_per_byte_int"),
            "files": rows, "adapt": adapt_rows, "baselines": base, "throughput": speed,
            "throughput_no_mix": speed_plain,
            "stream_cost": cost,
            "round_trip_exact": all(r["round_trip_exact"] for r in rows + adapt_rows)
            and speed["exact"] and speed_plain["exact"],
            "overhead_within_bound": all(r["within_bound"] for r in rows + adapt_rows)}


def folder_files(folder: str | None) -> list[str]:
    """Absolute paths of the regular files in ``folder`` (sorted by name); [] for None."""
    if not folder:
        return []
    path = Path(folder)
    if not path.is_dir():
        raise FileNotFoundError(f"ARCODEC_BENCH_TEXT={folder} is not a folder")
    return [str(p.resolve()) for p in sorted(path.iterdir()) if p.is_file()]


def english_throughput(root: Path, quick: bool, session) -> tuple[dict, dict]:
    """Throughput with and without context mixing on the first 1 MiB (``quick``: 128 KiB) of
    ``root``/large/bible.txt: the text suite's speed rows, and all of ``text-speed``."""
    english = (root / "large/bible.txt").read_bytes()[: (128 if quick else 1024) * 1024]
    return throughput(english, session), throughput(english, session, mix=False)


def throughput(data: bytes, session, mix: bool = True) -> dict:
    """Throughput of the model itself (named, so that no fallback is taken)."""
    r, back, t_enc, t_dec = _round_trip(data, session, model="charrnn-text", mix=mix)
    return {"bytes": len(data), "source": "first bytes of bible.txt", "model": r.model,
            "compress_kb_per_s": len(data) / 1000 / t_enc,
            "decompress_kb_per_s": len(data) / 1000 / t_dec, "exact": back == data,
            "bits_per_byte": 8 * len(r.data) / len(data)}


def markdown(r: dict) -> str:
    names = list(r["baselines"])
    adapt = {a["file"]: a for a in r.get("adapt", [])}
    head = ("| file | bytes | arcodec | bits/byte | arcodec --adapt | float model bits/byte | "
            "model alone bits/byte | mixed bits/byte (→ adapt) | " + " | ".join(names) + " |")
    rows = [head, "|" + " --- |" * (8 + len(names))]
    for f in r["files"]:
        cells = []
        for n in names:
            v = r["baselines"][n]
            cells.append("missing" if "missing" in v else f"{v[f['file']]:,}")
        a = adapt.get(f["file"])
        via = "" if f["codec"] == f["model"] else f" ({f['codec'].split()[0]})"
        rows.append(f"| {f['file']} | {f['bytes']:,} | {f['arc_bytes']:,}{via} | "
                    f"{8 * f['arc_bytes'] / max(f['bytes'], 1):.3f} | "
                    f"{'' if a is None else format(a['arc_bytes'], ',')} | "
                    f"{f['float_nll_bits_per_byte']:.3f} | {f['plain_nll_bits_per_byte']:.3f} | "
                    f"{f['int_nll_bits_per_byte']:.3f}"
                    f"{'' if a is None else ' → %.3f' % a['int_nll_bits_per_byte']} | "
                    + " | ".join(cells) + " |")
    gains = [f"{a['file']}: {a['int_nll_bits_per_byte']:.4f} bits/byte with --adapt vs "
             f"{p['int_nll_bits_per_byte']:.4f} without "
             f"({100 * (a['int_nll_bits_per_byte'] / p['int_nll_bits_per_byte'] - 1):+.1f}%), "
             + (f"compress {a['encode_kb_per_s']:.1f} KB/s, decompress "
                f"{a['decode_kb_per_s']:.1f} KB/s" if a["codec"] == a["model"] else
                f"xz smaller ({a['arc_bytes']:,} bytes)")
             for a in r.get("adapt", []) if a["adapt"]
             for p in r["files"] + r.get("adapt", []) if p["file"] == a["file"] and not p["adapt"]]
    s, c, s0 = r["throughput"], r["stream_cost"], r.get("throughput_no_mix")
    rows += ["", f"Model {r['model']}: validation bits/byte float {r['float_val_bits_per_byte']}, "
             f"QAT {r['qat_val_bits_per_byte']}, integer {r['int_val_bits_per_byte']} "
             "(recorded at export). Payload within 0.1% + 8 bytes of the integer NLL on every "
             f"file: {r['overhead_within_bound']}; round trips exact: {r['round_trip_exact']}.",
             f"Throughput of charrnn-text (named, so no fallback) on {s['bytes']:,} bytes of "
             f"English ({s['source']}): compress "
             f"{s['compress_kb_per_s']:.1f} KB/s, decompress {s['decompress_kb_per_s']:.1f} KB/s "
             f"({s['bits_per_byte']:.3f} bits/byte)"
             + ("" if s0 is None else f"; with --no-mix: compress {s0['compress_kb_per_s']:.1f} "
                f"KB/s, decompress {s0['decompress_kb_per_s']:.1f} KB/s "
                f"({s0['bits_per_byte']:.3f} bits/byte)") + ".",
             f"Parallel streams cost (model alone): {c['bytes']:,} bytes of alice29.txt in "
             f"{c['streams']} streams {c['bits_per_byte_streams']:.4f} bits/byte vs one stream "
             f"{c['bits_per_byte_one_stream']:.4f} ({c['cost_pct']:+.2f}%).",
             "", "arcodec: the .arc file as `arcodec compress` writes it (the default model, or "
             "xz / stored where that is smaller: marked); float model: the shipped weights in "
             "float arithmetic over the same streams; model alone: the integer model's NLL "
             "(`--no-mix`); mixed: the NLL of the coded tables, the model mixed with the "
             "file's own statistics (the default; → with --adapt)."]
    if gains:
        rows += ["", "--adapt (model NLL): " + "; ".join(gains) + "."]
    return "\n".join(rows)
