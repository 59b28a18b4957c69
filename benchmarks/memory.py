"""Peak resident memory of the calling process.

``getrusage(RUSAGE_SELF).ru_maxrss`` is not this process's own peak on Linux: a child made by
fork + exec inherits the parent's high-water mark (an 800 MB parent gives a 10 MB child an
"811 MB" peak), so the scaling suite's fresh processes would all report the benchmark's own
size. ``VmHWM`` in ``/proc/self/status`` belongs to the address space that exec created, so it
is the child's own; other systems fall back to ``ru_maxrss`` (kB on Linux, bytes on macOS).

``reset_peak`` lowers the high-water mark to the current resident size (Linux ≥ 4.0:
``/proc/self/clear_refs``), so that suites run one after another each report their own peak.

``child_code`` prepends this file's source to code run in a child process (``python -c``), so
the functions must stay self-contained.
"""
import resource
import sys


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (1 MiB = 1,048,576 bytes)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def reset_peak() -> bool:
    """Start a new peak at the current resident size; False where the system cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def child_code(code: str) -> str:
    """``code`` for ``python -c``, run after this module's source (so it can call
    ``peak_rss_mb`` without importing ``benchmarks``)."""
    import inspect
    return inspect.getsource(sys.modules[__name__]) + code
