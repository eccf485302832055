"""The one error a decoder raises."""

from __future__ import annotations


class PayloadError(ValueError):
    """A body that is not the format it was declared as.

    The message completes "<operation> answered HTTP <status> with ..."; ``excerpt`` asks the caller to
    append a (redacted) excerpt of the body.
    """

    def __init__(self, message: str, *, excerpt: bool = False) -> None:
        super().__init__(message)
        self.excerpt = excerpt


class SchemaFileError(ValueError):
    """An ``outputSchema`` file that is missing or does not compile; reported at load."""
