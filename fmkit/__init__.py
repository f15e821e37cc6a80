"""fmkit: one command per foundation-model lesson. Importing this never imports torch."""

__version__ = "0.1.0"
