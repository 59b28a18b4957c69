"""The benchmark suite's own pieces (the whole suite runs in CI as `python -m benchmarks --quick`)."""
from __future__ import annotations

import pytest

from benchmarks import text


def test_a_text_folder_adds_its_regular_files_by_name(tmp_path):
    (tmp_path / "b.log").write_bytes(b"second")
    (tmp_path / "a.txt").write_bytes(b"first")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_bytes(b"not listed")
    assert [p.rsplit("/", 1)[1] for p in text.folder_files(str(tmp_path))] == ["a.txt", "b.log"]
    assert text.folder_files(None) == [] and text.folder_files("") == []


def test_a_missing_text_folder_is_named_in_the_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        text.folder_files(str(tmp_path / "nope"))


def test_a_folder_file_row_round_trips_within_its_nll_bound(tmp_path, data_dir, session):
    src = (data_dir / "text" / "cantrbry" / "grammar.lsp").read_bytes()[:1500]
    (tmp_path / "user.lsp").write_bytes(src)
    [path] = text.folder_files(str(tmp_path))
    row = text._one(text.Path(path), session)
    assert row["file"] == "user.lsp" and row["bytes"] == 1500
    assert row["round_trip_exact"] and row["within_bound"]
    assert row["arc_bytes"] < 1500


def test_the_text_speed_suite_times_both_modes_on_a_round_trip(tmp_path, data_dir, session):
    from benchmarks import text_speed
    (tmp_path / "text" / "large").mkdir(parents=True)
    src = (data_dir / "text" / "large" / "bible.txt").read_bytes()[:3000]
    (tmp_path / "text" / "large" / "bible.txt").write_bytes(src)
    r = text_speed.run(tmp_path, True, session)
    assert r["round_trip_exact"]
    assert r["throughput"]["bytes"] == r["throughput_no_mix"]["bytes"] == 3000
    assert r["throughput"]["bits_per_byte"] < r["throughput_no_mix"]["bits_per_byte"]
    md = text_speed.markdown(r)
    assert "mixed (default)" in md and "--no-mix" in md


def test_the_text_speed_suite_names_its_missing_input(tmp_path, session):
    from benchmarks import text_speed
    with pytest.raises(FileNotFoundError, match="bible.txt"):
        text_speed.run(tmp_path, True, session)


def test_the_image_speed_suite_times_a_round_trip(data_dir, session):
    from benchmarks import image_speed
    r = image_speed.run(data_dir, True, session)
    assert r["round_trip_exact"] and r["overhead_within_bound"]
    [row] = r["images"]
    assert row["shape"] == [128, 192, 3] and row["decode_s"] > 0 and row["encode_s"] > 0
    assert "decode µs/sub-pixel" in image_speed.markdown(r)


def test_the_image_speed_suite_names_its_missing_input(tmp_path, session):
    from benchmarks import image_speed
    with pytest.raises(FileNotFoundError, match="kodim01.png"):
        image_speed.run(tmp_path, True, session)


def test_the_big_input_repeats_the_text_folders_in_path_order(tmp_path):
    from benchmarks import big_input
    for sub, files in {"text-train": {"b/x.txt": b"BBB", "a.txt": b"AA", "SHA256SUMS": b"no"},
                       "text": {"c.txt": b"C", "PROVENANCE.md": b"no"}}.items():
        for name, data in files.items():
            (tmp_path / sub / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / sub / name).write_bytes(data)
    out = tmp_path / "big.bin"
    digest = big_input.build(tmp_path, 15, out)
    assert out.read_bytes() == b"AABBBC" b"AABBBC" b"AAB"
    assert digest == big_input.hashlib.sha256(out.read_bytes()).hexdigest()
    with pytest.raises(FileNotFoundError, match="text"):
        big_input.build(tmp_path / "none", 10, out)
    for f in (tmp_path / "text-train").rglob("*"):
        if f.is_file():
            f.write_bytes(b"")
    (tmp_path / "text" / "c.txt").write_bytes(b"")
    with pytest.raises(ValueError, match="no bytes"):
        big_input.build(tmp_path, 10, tmp_path / "empty.bin")
    assert not list(tmp_path.glob("*.tmp")) and not (tmp_path / "empty.bin").exists()


def test_an_empty_data_dir_names_each_missing_set_and_where_to_get_it(tmp_path, capsys):
    from benchmarks.__main__ import main
    (tmp_path / "data").mkdir()
    rc = main(["--quick", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"),
               "--suite", "photos", "--suite", "text"])
    out, err = capsys.readouterr()
    assert rc == 2 and "no data set found" in err
    assert "no Kodak PNGs" in out and "r0k.us/graphics/kodak" in out
    assert "corpus.canterbury.ac.nz" in out
    assert (tmp_path / "out" / "results.json").exists()     # written, plots skipped, no crash


def test_the_scaling_plot_draws_only_the_inputs_that_were_run(tmp_path):
    from benchmarks import plots
    img = [{"subpixels": n, "encode_s": n / 1e4, "decode_s": n / 1e4, "peak_rss_mb": 300.0}
           for n in (12_288, 49_152)]
    r = {"suite": "scaling", "rows": [], "image_rows": img}
    path = plots.scaling([r], tmp_path)
    from PIL import Image
    w, h = Image.open(path).size
    assert w > h                     # one row of panels (images), not an empty text row above it
    assert plots.scaling([{"suite": "scaling", "rows": [], "image_rows": []}], tmp_path) is None


def test_the_pass_bound_is_a_tenth_of_a_percent_plus_eight_bytes():
    from benchmarks import within_bound
    assert within_bound(1065, 1000) and not within_bound(1066, 1000)   # 1000 * 1.001 + 64
    assert within_bound(64, 0) and not within_bound(65, 0)


def test_every_suite_says_where_its_data_comes_from():
    from benchmarks.__main__ import GET, SUITES
    assert set(GET) == set(SUITES)


def test_the_nll_gap_suite_can_run_the_rows_of_one_model(tmp_path, data_dir):
    import json

    from benchmarks.__main__ import main
    small = tmp_path / "data" / "text" / "cantrbry"     # one short file: a fast run
    small.mkdir(parents=True)
    head = (data_dir / "text" / "cantrbry" / "xargs.1").read_bytes()[:1500]
    (small / "xargs.1").write_bytes(head)
    rc = main(["--quick", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"),
               "--suite", "nll-gap", "--model", "charrnn-text"])
    rows = json.loads((tmp_path / "out" / "results.json").read_text())["results"][0]["rows"]
    assert rc == 0 and len(rows) == 1 and rows[0]["model"] == "charrnn-text"
    assert all(r["float_bits_per_dim"] > 0 and r["int_bits_per_dim"] > 0 for r in rows)


def test_a_model_filter_without_the_nll_gap_suite_is_refused(tmp_path, capsys):
    from benchmarks.__main__ import main
    rc = main(["--quick", "--out", str(tmp_path), "--suite", "text", "--model", "charrnn-text"])
    assert rc == 2 and "--suite nll-gap" in capsys.readouterr().err
    assert not (tmp_path / "results.json").exists()


def test_a_child_process_reports_its_own_peak_memory_not_its_parents():
    """ru_maxrss would give a fork + exec child the parent's 512 MiB high-water mark."""
    import subprocess
    import sys

    import numpy as np

    from benchmarks import memory
    parent = np.ones(64 * 2**20)                      # 512 MiB, every page touched
    out = subprocess.run([sys.executable, "-c", memory.child_code("print(peak_rss_mb())")],
                         check=True, capture_output=True, text=True).stdout
    assert float(out) < 128, f"child reports {out.strip()} MiB"
    assert memory.peak_rss_mb() >= parent.nbytes / 2**20


def test_each_suite_can_report_its_own_peak_after_a_larger_one():
    """After reset_peak the high-water mark is today's size, not an earlier suite's."""
    import numpy as np

    from benchmarks import memory
    earlier = np.ones(64 * 2**20)                     # 512 MiB, every page touched
    before = memory.peak_rss_mb()
    del earlier
    if not memory.reset_peak():
        pytest.skip("this system cannot reset the peak resident size")
    assert memory.peak_rss_mb() < before - 256


def test_the_codec_bars_show_every_image_set_with_payload_and_whole_files(tmp_path):
    """Out-of-domain sets (Fashion-MNIST) are drawn too, and per-file headers are visible."""
    from benchmarks import plots

    def image_set(name, payload, file):
        return {"name": name, "arcodec": {"model": "m", "payload_bits_per_dim": payload,
                                           "file_bits_per_dim": file},
                "baselines": {"PNG": {"bits_per_dim": 1.6}, "cjxl": {"missing": "cjxl"}}}
    r = {"suite": "images", "sets": [image_set("MNIST test, 8-bit (300)", 1.07, 1.29),
                                     image_set("Fashion-MNIST test, binarised at 128", 2.4, 2.6)]}
    panels = dict(plots.bar_panels([r]))
    assert panels["MNIST test, 8-bit (300) (bits/sub-pixel)"] == {
        "arcodec m (payload)": 1.07, "arcodec m (file)": 1.29, "PNG": 1.6}
    assert "Fashion-MNIST test, binarised at 128 (bits/pixel)" in panels
    assert plots.bits_per_codec([r], tmp_path).exists()
