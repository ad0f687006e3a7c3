"""One hierarchy for every error newsmirror reports."""

from __future__ import annotations


class NewsmirrorError(Exception):
    """Base class of all newsmirror errors."""


class ConfigError(NewsmirrorError):
    """The configuration file is missing, malformed or inconsistent (exit code 2)."""


class FeedError(NewsmirrorError):
    """One feed could not be fetched or parsed; the run goes on with the others."""


class NotModified(FeedError):
    """The server answered 304: nothing to do for this feed. ``fresh_for``: the seconds the
    server said the feed stays fresh (Cache-Control max-age / Expires), if it said."""

    def __init__(self, message: str, fresh_for: float | None = None) -> None:
        super().__init__(message)
        self.fresh_for = fresh_for

    def __reduce__(self):  # keeps ``fresh_for`` when it crosses a process boundary
        return (NotModified, (str(self), self.fresh_for))


class Deferred(FeedError):
    """The server asked us (Retry-After) not to come back before a given time."""

    def __init__(self, message: str, until: float) -> None:
        super().__init__(message)
        self.until = until

    def __reduce__(self):  # keeps ``until`` when it crosses a process boundary
        return (Deferred, (str(self), self.until))


class StorageError(NewsmirrorError):
    """The state database could not be opened or is newer than this version."""


class LockedError(StorageError):
    """Another newsmirror run holds the state lock."""
