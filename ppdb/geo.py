"""Straight-line distances and coordinate sanity checks."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)

# Indonesia's extent with a small margin: Sabang/We (95°E) to Merauke (141°E), Miangas (5.6°N) to Rote (11°S).
INDONESIA = (-11.2, 6.3, 94.7, 141.1)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def in_indonesia(lat: float, lon: float) -> bool:
    south, north, west, east = INDONESIA
    return south <= lat <= north and west <= lon <= east
