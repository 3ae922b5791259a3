"""What went wrong with a store on disk, in one word a repair issue and an error can name."""

from __future__ import annotations

from ..engine.database import StorageError


def storage_problem(err: BaseException) -> str:
    """Return what is wrong with a store, as a word: full, read_only, corrupt or unavailable."""
    if isinstance(err, StorageError):
        return err.code.removeprefix("storage_")
    return _problem(err)


def _problem(err: BaseException) -> str:
    """Read the problem from an SQLite or OS error's words and number."""
    text = str(err).lower()
    if "full" in text or getattr(err, "errno", None) == 28:
        return "full"
    if "readonly" in text or "read-only" in text or getattr(err, "errno", None) == 30:
        return "read_only"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return "corrupt"
    return "unavailable"
