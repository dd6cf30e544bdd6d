"""In-memory caches."""

from .lru import LRUCache
from .ttl import TTLCache

__all__ = ["LRUCache", "TTLCache"]
