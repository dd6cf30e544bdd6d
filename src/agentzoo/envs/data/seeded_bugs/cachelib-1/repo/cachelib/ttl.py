"""A cache whose entries expire after a time to live."""

import time


class TTLCache:
    """Entries expire `ttl` seconds after they were put; `clock` gives the time."""

    def __init__(self, ttl, clock=time.monotonic):
        self.ttl = ttl
        self.clock = clock
        self._data = {}

    def get(self, key, default=None):
        entry = self._data.get(key)
        if entry is None:
            return default
        value, expires = entry
        if self.clock() >= expires:
            del self._data[key]
            return default
        return value

    def put(self, key, value):
        self._data[key] = (value, self.clock() + self.ttl)
