import math
import unittest

import geomkit
import unitconv


class ShapeTests(unittest.TestCase):
    def test_circle(self):
        self.assertAlmostEqual(geomkit.circle_area(100, "cm", "m"), math.pi)

    def test_rectangle(self):
        self.assertAlmostEqual(geomkit.rectangle_perimeter(1, 2, "ft", "in"), 72.0)

    def test_units(self):
        self.assertAlmostEqual(unitconv.convert(1, "km", "m"), 1000.0)
