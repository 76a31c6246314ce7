"""The version, in one place: hatch reads it for the wheel, the package and crash files show it."""

__version__ = "0.1.0"
