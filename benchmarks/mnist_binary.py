"""Suite: MADE on the binarised MNIST test split against optipng, JBIG1 and xz."""
from __future__ import annotations

import time

import numpy as np
from tqdm import tqdm

import arcodec
from arcodec import container, zoo
from arcodec.train.data import binarize, mnist

from . import baselines, nll_gap, within_bound


def run(data_dir, quick: bool, session: arcodec.Session) -> dict:
    digits = binarize(mnist("t10k", data_dir))
    n_enc = 1000 if quick else len(digits)
    n_dec = 50 if quick else 500
    info = session.resolve("made-mnist")
    meta = zoo.load(info).meta
    payload = np.zeros(n_enc)
    files = np.zeros(n_enc)
    nll = np.zeros(n_enc)
    t0 = time.perf_counter()
    arcs = []
    for i in tqdm(range(n_enc), desc="made-mnist encode", unit="digit", leave=False,
                  disable=None):
        r = arcodec.compress_image(digits[i], "made-mnist", session)
        payload[i], files[i], nll[i] = 8 * r.payload_bytes, 8 * len(r.data), r.nll_bits
        arcs.append(r.data)
    t_enc = (time.perf_counter() - t0) / n_enc
    t0 = time.perf_counter()
    exact = all(np.array_equal(arcodec.decompress_image(arcs[i], session=session), digits[i])
                for i in tqdm(range(n_dec), desc="made-mnist decode", unit="digit", leave=False,
                              disable=None))
    t_dec = (time.perf_counter() - t0) / n_dec
    fnll = nll_gap.made_float_bits(nll_gap.float_model(session, "made-mnist")[0], digits[:n_enc])
    res = {
        "suite": "mnist-binary", "model": info.name, "weights_sha256": info.sha256,
        "digits_encoded": n_enc, "digits_decoded": n_dec, "round_trip_exact": exact,
        "payload_bits_per_digit": payload.mean(), "file_bits_per_digit": files.mean(),
        "int_nll_bits_per_digit": nll.mean(), "payload_bits_per_dim": payload.mean() / 784,
        "float_nll_bits_per_digit": fnll / n_enc,
        "float_nll_bits_per_digit_test_at_export": float(meta["test_bits_float"]),
        "max_header_bytes": int(max(container.unpack(a)[2] for a in arcs)),
        "overhead_within_bound": bool(np.all(within_bound(payload, nll))),
        "overhead_pct": 100 * (payload.sum() - nll.sum()) / nll.sum(),
        "encode_s_per_digit": t_enc, "decode_s_per_digit": t_dec,
        "baselines": {},
        "per_item": {"payload_bits": payload.tolist(), "nll_bits": nll.tolist()},
    }
    sub = digits[:n_enc]
    b = res["baselines"]
    if (m := baselines.missing("optipng")) is None:
        k = min(n_enc, 500 if quick else 2000)
        b["optipng -o2 1-bit PNG"] = {"bits_per_digit": 8 * np.mean(
            [baselines.optipng_1bit_bytes(d) for d in sub[:k]]), "digits": k}
    else:
        b["optipng -o2 1-bit PNG"] = {"missing": m}
    if (m := baselines.missing("pbmtojbg")) is None:
        b["JBIG1 pbmtojbg -q (digits tiled 100 wide)"] = {"bits_per_digit": 8 * baselines.jbig1_bytes(
            baselines.tile(sub, 100)) / n_enc, "digits": n_enc}
    else:
        b["JBIG1 pbmtojbg -q (digits tiled 100 wide)"] = {"missing": m}
    if (m := baselines.missing("xz")) is None:
        b["xz -9e (packed bits)"] = {"bits_per_digit": 8 * baselines.xz_bytes(
            np.packbits(sub.reshape(n_enc, -1), axis=1).tobytes()) / n_enc, "digits": n_enc}
    else:
        b["xz -9e (packed bits)"] = {"missing": m}
    return res


def markdown(r: dict) -> str:
    rows = [
        "| codec | bits per digit | bits/dim |",
        "| --- | ---: | ---: |",
        f"| arcodec made-mnist: payload | {r['payload_bits_per_digit']:.2f} | "
        f"{r['payload_bits_per_digit'] / 784:.4f} |",
        f"| arcodec made-mnist: whole .arc file (≤ {r['max_header_bytes']} B header) | "
        f"{r['file_bits_per_digit']:.2f} | {r['file_bits_per_digit'] / 784:.4f} |",
        f"| made-mnist integer model NLL | {r['int_nll_bits_per_digit']:.2f} | "
        f"{r['int_nll_bits_per_digit'] / 784:.4f} |",
        f"| made-mnist float model NLL (shipped weights, float arithmetic) | "
        f"{r['float_nll_bits_per_digit']:.2f} | {r['float_nll_bits_per_digit'] / 784:.4f} |",
        f"| made-mnist float (QAT) model NLL, full test set at export | "
        f"{r['float_nll_bits_per_digit_test_at_export']:.2f} | "
        f"{r['float_nll_bits_per_digit_test_at_export'] / 784:.4f} |",
    ]
    for name, v in r["baselines"].items():
        if "missing" in v:
            rows.append(f"| {name} | missing: {v['missing']} | |")
        else:
            rows.append(f"| {name} ({v['digits']} digits) | {v['bits_per_digit']:.2f} | "
                        f"{v['bits_per_digit'] / 784:.4f} |")
    rows.append("")
    rows.append(f"{r['digits_encoded']} digits encoded, {r['digits_decoded']} decoded "
                f"(round trip exact: {r['round_trip_exact']}); payload over integer NLL "
                f"{r['overhead_pct']:+.2f}%, every file within 0.1% + 8 bytes: "
                f"{r['overhead_within_bound']}; encode {1000 * r['encode_s_per_digit']:.1f} ms, "
                f"decode {1000 * r['decode_s_per_digit']:.0f} ms per digit.")
    return "\n".join(rows)
