"""Progress: the codecs report every symbol they code; the CLI draws a bar only on a terminal."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import arcodec

EXAMPLES = Path(__file__).parent.parent / "examples"
CLI = [sys.executable, "-c", "import sys; from arcodec.cli import main; sys.argv[0] = 'arcodec'; main()"]


def test_the_byte_codec_reports_every_byte_it_codes(session):
    data = (EXAMPLES / "hello.txt").read_bytes() * 8
    seen = []
    r = arcodec.compress_bytes(data, "charrnn-text", session, progress=seen.append)
    assert sum(seen) == len(data) and len(seen) > 1
    back = []
    assert arcodec.decompress_bytes(r.data, session=session, progress=back.append).data == data
    assert sum(back) == len(data)


def _run_on_a_terminal(args: list[str], cols: int = 100) -> tuple[int, str]:
    """Run ``args`` with stdin/stdout/stderr on a pseudo-terminal ``cols`` wide."""
    import fcntl
    import pty
    import struct
    import termios
    try:
        pid, fd = pty.fork()
    except OSError as e:                           # a container without /dev/ptmx
        pytest.skip(f"no pseudo-terminal here: {e}")
    if pid == 0:                                   # child: the terminal is fd 0/1/2
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
            os.execv(args[0], args)
        finally:
            os._exit(127)                          # never return into pytest
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:                            # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_compress_draws_a_progress_bar_on_a_terminal(tmp_path):
    out_arc = tmp_path / "p.arc"
    code, text = _run_on_a_terminal(CLI + ["compress", str(EXAMPLES / "parrots.png"),
                                           "-o", str(out_arc)])
    assert code == 0, text
    assert "compress parrots.png:" in text and "%|" in text and "px/s" in text
    assert out_arc.exists()


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path):
    out_arc = tmp_path / "p.arc"
    r = subprocess.run(CLI + ["compress", str(EXAMPLES / "parrots.png"), "-o", str(out_arc)],
                       capture_output=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"" and r.stderr == b""
    assert out_arc.exists()


def test_byte_inputs_get_a_bar_only_from_one_megabyte():
    from arcodec.cli import _Bar
    small, big, image = _Bar("c", (1 << 20) - 1, True), _Bar("c", 1 << 20, True), _Bar("c", 10, True)
    small(100), big(100), image(100, 300, "px")
    assert small.bar is None
    assert big.bar is not None and big.bar.total == 1 << 20
    assert image.bar is not None and image.bar.total == 300
    for b in (big, image):
        b.bar.close()
