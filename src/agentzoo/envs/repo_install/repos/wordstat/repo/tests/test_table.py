import unittest

import wordstat


class TableTests(unittest.TestCase):
    def test_locale(self):
        self.assertEqual(wordstat.locale(), "en")

    def test_frequency(self):
        self.assertEqual(wordstat.frequency("House"), 40)
        self.assertEqual(wordstat.frequency("nothing"), 0)
