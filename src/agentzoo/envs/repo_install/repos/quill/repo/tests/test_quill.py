import unittest

import quill


class QuillTests(unittest.TestCase):
    def test_slug(self):
        self.assertEqual(quill.slug("Hello, World!"), "hello-world")

    def test_wrap(self):
        self.assertEqual(quill.wrap("a bb ccc dd", 5), ["a bb", "ccc", "dd"])
