"""Suite ``photos`` (Kodak, held-out photos, a folder of PNGs): see ``images.run_photos``."""
from .images import markdown, run_photos as run

__all__ = ["run", "markdown"]
