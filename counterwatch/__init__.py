"""counterwatch: counter recording, courtesy-language checks and waiting-area screens."""

__version__ = "0.1.0"
