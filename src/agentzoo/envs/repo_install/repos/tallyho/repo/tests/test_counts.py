import unittest

import tallyho


class CountTests(unittest.TestCase):
    def test_words(self):
        self.assertEqual(tallyho.count_words("a b a"), {"a": 2, "b": 1})

    def test_stop_words_skipped(self):
        self.assertEqual(tallyho.most_common("the cat and the hat, the cat", 1), [("cat", 2)])

    def test_lines(self):
        self.assertEqual(tallyho.count_lines("one\n\ntwo\n"), 2)

    def test_version(self):
        self.assertEqual(tallyho.__version__, "0.4.1")
