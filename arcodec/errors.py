"""Errors with one-line messages for the user; the CLI prints them and exits non-zero."""


class ArcodecError(Exception):
    """Base class: ``str(e)`` is a complete one-line message."""


class FormatError(ArcodecError):
    """The .arc file is empty, truncated, corrupt, foreign or of an unknown version."""


class ModelError(ArcodecError):
    """The model is missing, does not match the file's weights hash, or is unreadable."""


class InputError(ArcodecError):
    """The input cannot be coded (missing file, unsupported image mode, ...)."""

