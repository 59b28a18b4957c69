"""The .arc container: compact, self-describing, and strict when reading."""
import pytest

from arcodec import container
from arcodec.errors import FormatError


def _mnist_header(**kw):
    h = dict(model_code=1, weights_hash=b"\x01\x02\x03\x04", codec=1, dims=[28, 28],
             crc32=0xDEADBEEF, flags=1)
    h.update(kw)
    return container.Header(**h)


def test_header_round_trips_every_field():
    h = _mnist_header()
    got, payload, hlen = container.unpack(container.pack(h, b"xyz"))
    assert got == h and payload == b"xyz"


def test_header_of_a_28x28_binary_image_is_at_most_16_bytes():
    data = container.pack(_mnist_header(), bytes(100))
    assert len(data) - 100 <= 16


def test_user_model_name_is_stored():
    h = _mnist_header(model_code=0, model_name="my-model")
    assert container.unpack(container.pack(h, b""))[0].model_name == "my-model"


def test_every_truncation_is_reported_as_format_error():
    data = container.pack(_mnist_header(), b"payload!")
    for n in range(len(data)):
        with pytest.raises(FormatError):
            container.unpack(data[:n])


def test_trailing_bytes_are_rejected():
    with pytest.raises(FormatError, match="after the payload"):
        container.unpack(container.pack(_mnist_header(), b"p") + b"junk")


def test_unknown_version_is_named():
    data = bytearray(container.pack(_mnist_header(), b""))
    data[2] = 99
    with pytest.raises(FormatError, match="version 99"):
        container.unpack(bytes(data))


def test_foreign_file_is_rejected_by_magic():
    with pytest.raises(FormatError, match="magic"):
        container.unpack(b"\x89PNG\r\n\x1a\n rest of a png")
