"""Suite ``photos``: see ``images.run_photos``."""
from .images import markdown, run_photos as run  # noqa: F401
