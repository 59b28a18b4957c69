"""Every PNG mode round-trips pixel-exactly through the CLI, with its metadata chunks."""
import io
import struct

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, PngImagePlugin

from arcodec import png as pngio
from arcodec.cli import main


def _meta() -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "a crop of kodim23")
    info.add_text("Comment", "compressed text " * 20, zip=True)       # zTXt
    info.add_itxt("Description", "Papageien, naïve", lang="de", tkey="Beschreibung")
    info.add(b"gAMA", struct.pack(">I", 45455))
    info.add(b"pHYs", struct.pack(">IIB", 2835, 2835, 1))
    info.add(b"tIME", struct.pack(">HBBBBB", 2026, 11, 22, 6, 0, 0), after_idat=True)
    return info


@pytest.fixture(scope="module")
def crop(data_dir) -> np.ndarray:
    a = np.asarray(Image.open(data_dir / "kodak" / "kodim23.png").convert("RGB"))
    return np.ascontiguousarray(a[180:200, 300:330])          # 20 x 30 RGB


def _images(crop):
    g = crop[..., 1]
    a = np.asarray(Image.fromarray(crop).quantize(200))
    yield "RGB", Image.fromarray(crop), {"icc_profile": _icc()}
    yield "L", Image.fromarray(g), {}
    yield "RGBA", Image.fromarray(np.dstack([crop, 255 - g])), {}
    yield "LA", Image.fromarray(np.dstack([g, crop[..., 0]])).convert("LA"), {}
    yield "P", Image.fromarray(crop).quantize(200), {}
    yield "P-4bit", Image.fromarray(a % 16, "P").convert("P"), {"bits": 4}
    yield "1-bit", Image.fromarray(g > 100), {}
    yield "2-bit gray", Image.fromarray((g // 64 * 85).astype(np.uint8)), {"bits": 2}
    yield "16-bit gray", Image.fromarray(g.astype(np.uint16) * 257 + 3), {}


def _icc() -> bytes:
    from PIL import ImageCms
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _roundtrip(tmp_path, data: bytes, name: str):
    src = tmp_path / f"{name}.png"
    src.write_bytes(data)
    r = CliRunner().invoke(main, ["compress", "-v", str(src)])
    assert r.exit_code == 0, r.output
    src.rename(tmp_path / f"{name}.orig.png")
    r2 = CliRunner().invoke(main, ["decompress", f"{src}.arc"])
    assert r2.exit_code == 0, r2.output
    return src.read_bytes(), r.output


def test_every_png_mode_round_trips_pixels_and_metadata(tmp_path, crop):
    for name, im, kw in _images(crop):
        buf = io.BytesIO()
        im.save(buf, "PNG", pnginfo=_meta(), **kw)
        data = buf.getvalue()
        out, log = _roundtrip(tmp_path, data, name.replace(" ", "_"))
        a, b = Image.open(io.BytesIO(data)), Image.open(io.BytesIO(out))
        assert a.mode == b.mode, name
        assert np.array_equal(np.asarray(a), np.asarray(b)), name
        assert a.text == b.text and a.info.get("icc_profile") == b.info.get("icc_profile"), name
        assert a.info.get("gamma") == b.info.get("gamma") and a.info.get("dpi") == b.info.get("dpi")
        if a.mode == "P":
            assert a.getpalette() == b.getpalette(), name
        orig = [k for k, _ in pngio.chunks(data) if k not in (b"IDAT",)]
        assert [k for k, _ in pngio.chunks(out) if k not in (b"IDAT",)] == orig, name


def test_colour_photos_are_coded_by_the_photo_model_and_palettes_by_the_fallback(tmp_path, crop):
    buf = io.BytesIO()
    Image.fromarray(crop).save(buf, "PNG")
    _, log = _roundtrip(tmp_path, buf.getvalue(), "rgb")
    assert "pixelcnn-photo" in log
    buf = io.BytesIO()
    Image.fromarray(crop).quantize(64).save(buf, "PNG")
    _, log = _roundtrip(tmp_path, buf.getvalue(), "pal")
    assert "fallback" in log or "stored" in log


def test_16_bit_colour_png_is_kept_byte_for_byte(tmp_path, crop):
    p = pngio.PngImage(30, 20, 16, 2, crop.astype(np.uint16) * 257 + 1,
                       before=[(b"sRGB", b"\x00")])
    data = pngio.write_png(p)
    out, log = _roundtrip(tmp_path, data, "rgb16")
    assert out == data
    assert "stored" in log


def test_sRGB_chunk_and_transparency_survive(tmp_path, crop):
    info = PngImagePlugin.PngInfo()
    info.add(b"sRGB", b"\x00")
    buf = io.BytesIO()
    Image.fromarray(crop).save(buf, "PNG", pnginfo=info, transparency=(1, 2, 3))
    out, _ = _roundtrip(tmp_path, buf.getvalue(), "trns")
    b = Image.open(io.BytesIO(out))
    assert b.info.get("transparency") == (1, 2, 3)
    assert any(k == b"sRGB" for k, _ in pngio.chunks(out))


def test_a_broken_png_is_still_compressed_as_bytes(tmp_path, crop):
    buf = io.BytesIO()
    Image.fromarray(crop).save(buf, "PNG")
    data = buf.getvalue()[:-30]                   # truncated: the pixels cannot be read
    out, log = _roundtrip(tmp_path, data, "broken")
    assert out == data


def test_wrong_model_for_an_image_is_a_one_line_error(tmp_path, crop):
    src = tmp_path / "c.png"
    Image.fromarray(crop).save(src)
    for model in ("made-mnist", "pixelcnn-mnist"):
        r = CliRunner().invoke(main, ["compress", "--model", model, str(src)])
        assert r.exit_code == 1 and len(r.output.strip().splitlines()) == 1, r.output
        assert not (tmp_path / "c.png.arc").exists()
