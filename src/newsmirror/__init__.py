"""newsmirror: feeds (RSS, Atom, JSON Feed, RSSHub routes) in, a news site out."""

__version__ = "0.1.0"

from .config import Channel, Config, load_config  # noqa: E402
from .core import Mirror, RunReport, make_mirror, read_config  # noqa: E402
from .exceptions import (  # noqa: E402
    ConfigError, FeedError, LockedError, NewsmirrorError, StorageError,
)

__all__ = [
    "Channel", "Config", "ConfigError", "FeedError", "LockedError", "Mirror", "NewsmirrorError",
    "RunReport", "StorageError", "__version__", "load_config", "make_mirror", "read_config",
]
