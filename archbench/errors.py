"""Exception types. Each message names what was expected and what was found."""


class ArchbenchError(Exception):
    """Base class of every error archbench raises on purpose."""


class GraphValidationError(ArchbenchError, ValueError):
    """A computation graph breaks a structural or shape rule."""


class UnknownOpError(GraphValidationError):
    """An op name is not in the op vocabulary."""


class EncodingError(ArchbenchError, ValueError):
    """A native architecture encoding (string, tuple, index) is malformed or out of range."""


class DataFormatError(ArchbenchError, ValueError):
    """A benchmark or table file is missing, truncated, corrupt or not the expected format."""


class UnsafePickleError(DataFormatError):
    """A pickle asked for a class outside the reader's allow-list; nothing was executed."""


class SchemaVersionError(DataFormatError):
    """A table was written by a newer, incompatible schema version."""


class RegistryError(ArchbenchError, KeyError):
    """A registry lookup or registration failed (unknown or duplicate name)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""
