from cachelib import TTLCache


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_entry_expires():
    clock = Clock()
    cache = TTLCache(10, clock=clock)
    cache.put("k", "v")
    clock.now = 9.9
    assert cache.get("k") == "v"
    clock.now = 10.0
    assert cache.get("k") is None
