"""unitconv: length conversions."""

METRES = {"m": 1.0, "cm": 0.01, "mm": 0.001, "km": 1000.0, "in": 0.0254, "ft": 0.3048}


def convert(value, unit, to):
    return value * METRES[unit] / METRES[to]
