"""What went wrong with a store on disk, in one word a repair issue and an error can name."""

from __future__ import annotations


def storage_problem(err: BaseException) -> str:
    """Return what is wrong with a store, as a word: full, read_only, corrupt or unavailable."""
    text = str(err).lower()
    if "full" in text or getattr(err, "errno", None) == 28:
        return "full"
    if "readonly" in text or "read-only" in text or getattr(err, "errno", None) == 30:
        return "read_only"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return "corrupt"
    return "unavailable"
