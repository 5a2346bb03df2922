"""The exceptions Palate raises on purpose.

PalateError
├── ConfigurationError   a setting or a wiring that cannot work
└── DataError            data on disk or in a request that cannot be used
    └── UnknownDatasetError
"""

from __future__ import annotations


class PalateError(Exception):
    """Base class of every deliberate Palate error."""


class ConfigurationError(PalateError):
    """A setting or a wiring that cannot work."""


class DataError(PalateError):
    """Data that cannot be used as given."""


class UnknownDatasetError(DataError, ValueError):
    """An importer name that no importer answers to."""
