import os
import unittest

import confetti


class SettingsTests(unittest.TestCase):
    def test_load(self):
        settings = confetti.load()
        self.assertEqual(settings["port"], 8080)
        self.assertEqual(settings["cache_size"], 64)

    def test_cache(self):
        path = confetti.cache_put(confetti.load(), "k", "v")
        self.assertTrue(os.path.exists(path))
