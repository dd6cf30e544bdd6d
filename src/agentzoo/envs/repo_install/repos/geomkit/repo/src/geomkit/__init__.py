"""geomkit: areas and perimeters in any length unit (conversions by the vendored unitconv)."""

import math

from unitconv import convert


def circle_area(radius, unit="m", to="m"):
    r = convert(radius, unit, to)
    return math.pi * r * r


def rectangle_perimeter(width, height, unit="m", to="m"):
    return 2 * (convert(width, unit, to) + convert(height, unit, to))
