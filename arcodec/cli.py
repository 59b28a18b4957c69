"""``arcodec`` command line: parses arguments, calls the API, prints, maps errors to exit codes."""
from __future__ import annotations

import contextlib
import os
import shutil
import sys

import click
from tqdm import tqdm

from . import api, zoo
from .errors import ArcodecError

EXIT_ERROR = 1


def _fail(msg: str) -> None:
    click.echo(f"arcodec: {msg}", err=True)


def _run_each(files, one) -> None:
    """Apply ``one`` to every file; report errors one line each; exit 1 if any failed."""
    failed = False
    for f in files:
        try:
            one(f)
        except ArcodecError as e:
            _fail(f"{f}: {e}" if not str(e).startswith(str(f)) else str(e))
            failed = True
        except OSError as e:            # e.g. a full disk or a closed stdout: still one line
            _fail(f"{f}: {e.strerror or e}")
            failed = True
        except KeyboardInterrupt:
            _fail("interrupted")
            sys.exit(130)
    if failed:
        sys.exit(EXIT_ERROR)


def _session(device: str) -> api.Session:
    try:
        return api.Session(device)
    except ArcodecError as e:
        _fail(str(e))
        sys.exit(EXIT_ERROR)


class _Bar:
    """Progress on stderr, created at the first report: codecs call ``bar(n)`` (bytes of the
    input; shown for inputs over 1 MB) or ``bar(n, total, unit)`` (e.g. image pixels: always
    shown, image coding takes seconds). Nothing is drawn when stderr is not a terminal."""

    def __init__(self, desc: str, size: int, size_is_total: bool):
        self.desc, self.size, self.size_is_total, self.bar = desc, size, size_is_total, None

    def __call__(self, n: int, total: int | None = None, unit: str = "B") -> None:
        if self.bar is None:
            if total is None and self.size < 1 << 20:
                return
            if total is None and self.size_is_total:
                total = self.size
            self.bar = tqdm(total=total, desc=self.desc, unit=unit,
                            unit_scale=True, disable=None, leave=False, file=sys.stderr)
        self.bar.update(n)


@contextlib.contextmanager
def _progress(path: str, what: str):
    try:
        size = os.path.getsize(path) if path != "-" else 0
    except OSError:
        size = 0
    # decompress: the original size is not known yet
    bar = _Bar(f"{what} {os.path.basename(path)}", size, what == "compress")
    try:
        yield bar
    finally:
        if bar.bar is not None:
            bar.bar.close()


def _check_single_output(files, output) -> None:
    if output is not None and len(files) > 1:
        _fail("-o/--output needs exactly one input file")
        sys.exit(EXIT_ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="arcodec")
def main() -> None:
    """arcodec: lossless compression with learned autoregressive models."""


def _nll_text(r: api.Result) -> str:
    """The NLL part of ``compress -v``: the model's NLL and the payload's overhead over it, or
    the NLL of a model whose output was larger than the fallback written."""
    if not r.nll_bits:                  # written without a model, or beaten by such a fallback
        return f"{r.nll_model} larger: not used" if r.nll_model else "no model, no NLL"
    if r.nll_model:
        return f"{r.nll_model} NLL {r.nll_bits_per_dim:.4f} bits/dim (larger: not used)"
    text = f"NLL {r.nll_bits_per_dim:.4f} bits/dim, overhead {r.overhead_pct:+.2f}%"
    if r.unmodelled_bytes:
        text += f" (+ {r.unmodelled_bytes} payload bytes by xz, no model: alpha)"
    return text


def _file_options(model_help: str):
    """The options compress and decompress share: FILES, -o, -f, --model, --device."""
    def wrap(f):
        for opt in reversed([
            click.argument("files", nargs=-1, required=True),
            click.option("-o", "--output", help="output file (one input only; '-' for stdout)"),
            click.option("-f", "--force", is_flag=True, help="overwrite existing output files"),
            click.option("--model", help=model_help),
            click.option("--device", default="auto", show_default=True,
                         type=click.Choice(["auto", "cpu", "cuda"])),
        ]):
            f = opt(f)
        return f
    return wrap


@main.command()
@_file_options("registry name or .safetensors path (default: chosen from input)")
@click.option("--adapt", is_flag=True,
              help="byte models keep learning from the data while coding (slower; usually smaller on long files)")
@click.option("--no-mix", "no_mix", is_flag=True,
              help="byte models: no context mixing with the file's own statistics "
                   "(faster, larger files)")
@click.option("-v", "--verbose", is_flag=True, help="print bits/dim, NLL and overhead")
def compress(files, output, force, model, device, adapt, no_mix, verbose) -> None:
    """Compress FILES to FILE.arc (inputs are kept; '-' reads stdin)."""
    _check_single_output(files, output)
    s = _session(device)

    def one(f):
        with _progress(f, "compress") as progress:
            r = api.compress_file(f, output, force=force, model=model, session=s,
                                  adapt=adapt, mix=not no_mix, progress=progress)
        if verbose:
            click.echo(f"{f}: {r.original_bytes} -> {len(r.data)} bytes "
                       f"(ratio {r.original_bytes / len(r.data):.2f}), model {r.model}, "
                       f"payload {r.payload_bits_per_dim:.4f} bits/dim, {_nll_text(r)}, "
                       f"header {r.header_bytes} bytes", err=True)

    _run_each(files, one)


@main.command()
@_file_options("weight file for files made with a user model")
@click.option("-v", "--verbose", is_flag=True, help="print what was restored")
def decompress(files, output, force, model, device, verbose) -> None:
    """Restore FILES (FILE.arc -> FILE)."""
    _check_single_output(files, output)
    s = _session(device)

    def one(f):
        with _progress(f, "decompress") as progress:
            r = api.decompress_file(f, output, force=force, model=model, session=s,
                                    progress=progress)
        if verbose:
            click.echo(f"{f}: {r.dims} symbols restored with {r.model} "
                       f"({r.payload_bits_per_dim:.4f} payload bits/dim)", err=True)

    _run_each(files, one)


@main.command()
@click.argument("files", nargs=-1, required=True)
def info(files) -> None:
    """Show the model, shape and sizes of .arc FILES."""
    def one(f):
        d = api.info(api._read(f))
        click.echo(f"{f}: model {d['model']} (weights {d['weights']}), format v{d['format_version']}, "
                   f"{d['size']}, header {d['header_bytes']} B, "
                   f"payload {d['payload_bytes']} B, {d['bits_per_dim']:.4f} bits/{d['unit']} "
                   f"({d['payload_bits_per_dim']:.4f} payload)")

    _run_each(files, one)


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--out", required=True, help="weight file to write (.safetensors)")
@click.option("--minutes", default=30.0, show_default=True, help="float training time")
@click.option("--qat-minutes", default=5.0, show_default=True,
              help="quantisation-aware fine-tuning time")
@click.option("--hidden", default=384, show_default=True, help="LSTM width")
@click.option("--work", default=None, help="folder for checkpoints (default: OUT + '.run')")
@click.option("-f", "--force", is_flag=True, help="overwrite an existing OUT")
def train(files, out, minutes, qat_minutes, hidden, work, force) -> None:
    """Train a byte model on your own FILES (or folders); use it with --model OUT."""
    from pathlib import Path

    from .train import charrnn_text
    try:                                # refused before the training, not after it
        api.check_output(out, force)
    except ArcodecError as e:
        _fail(str(e))
        sys.exit(EXIT_ERROR)
    name = Path(out).name.removesuffix(".safetensors")
    run = work or f"{out}.run"
    ours = not Path(run).exists()       # a checkpoint folder this call makes goes if it fails
    common = ["--out", run, "--files", *files]
    try:
        charrnn_text.main(["train", *common, "--minutes", str(minutes), "--hidden", str(hidden)])
        if qat_minutes > 0:
            charrnn_text.main(["train", *common, "--resume", "--qat", "--minutes",
                               str(qat_minutes), "--lr", "3e-4", "--eval-every", "25"])
        charrnn_text.main(["export", "--run", run, "--out", out, "--files", *files,
                           "--name", name, "--checkpoint", "last.safetensors"])
    except (OSError, ValueError, SystemExit) as e:
        if ours:
            shutil.rmtree(run, ignore_errors=True)
        if isinstance(e, SystemExit) and not isinstance(e.code, str):
            raise
        _fail(_training_error(e, out))
        sys.exit(EXIT_ERROR)
    click.echo(f"wrote {out}; compress with: arcodec compress --model {out} FILE")


def _training_error(e: BaseException, out: str) -> str:
    """One line for a failed ``train``: the trainer's own refusals (a SystemExit message,
    FileNotFoundError, ValueError) as they are, any other OSError by file and reason."""
    if isinstance(e, SystemExit):
        return str(e.code)
    if isinstance(e, (FileNotFoundError, ValueError)):
        return str(e)
    return f"{getattr(e, 'filename', None) or out}: {getattr(e, 'strerror', None) or e}"


@main.command()
def models() -> None:
    """List installed models with their domain and measured bits/dim; legacy weights (kept so
    that older files decode) are marked."""
    for m in zoo.shipped():
        meta = zoo.load_meta(m)
        where = meta.get("test_set") or (f"{int(meta['val_bytes']):,} held-out bytes"
                                         if "val_bytes" in meta else "its test split")
        click.echo(f"{m.name:19} {m.domain:28} {m.bits_per_dim} bits/dim on {where}  "
                   f"sha256 {m.sha256[:12]}" + ("  legacy: decodes older files" if m.legacy else ""))


if __name__ == "__main__":
    main()
