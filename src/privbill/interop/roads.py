"""Synthetic road tolling: a small road network, a household's trips, and an on-board unit.

The network is a city of about 9 km radius with its region: eight radial main roads from the
centre, an inner main-road ring, a motorway ring around the city, motorways to two neighbouring
towns, and local streets to every place (homes, workplaces, shops, leisure). Every road link has
a **road class** (1 motorway, 2 main road, 3 local road) and lies in one **zone** (1 the city
centre inside 2.5 km, 2 the urban area inside 9 km, 3 the region beyond); the tolling cell of a
link is ``10 × zone + class`` (12 = a main road in the centre, 31 = a motorway in the region).
There is no motorway in the centre, so there are eight cells.

A household (``seed``) gets a home, a workplace (or none), shops, friends and weekend
destinations; it drives weekday commutes (some days from home), errands, evening outings and
weekend trips along the fastest routes, at speeds that depend on the road class, the zone and
rush hours, with per-trip variation. The on-board unit divides time into intervals and, for
each interval, measures the metres driven and commits to them with **one** cell: the cell where
most of the interval's metres were driven (a parked car keeps the cell it is parked in). The
metres are exact; metres driven in another cell within the same interval are charged at the
majority cell's price, which :class:`Drive` reports as ``straddled_metres``.

Everything is drawn from ``random.Random(seed)``: simulation randomness only, never used for keys
or blinding factors. The network itself does not depend on the seed.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Final
from zoneinfo import ZoneInfo

from privbill.errors import UsageError

MOTORWAY: Final = 1
MAIN: Final = 2
LOCAL: Final = 3
CLASS_NAMES: Final = {MOTORWAY: "motorway", MAIN: "main road", LOCAL: "local road"}
ZONE_NAMES: Final = {1: "city centre", 2: "urban area", 3: "region"}
#: Cells that exist in the network: 10 × zone + class (no motorway in the centre).
CELLS: Final = (12, 13, 21, 22, 23, 31, 32, 33)

CENTRE_R: Final = 2.5  # km: zone 1 inside
URBAN_R: Final = 9.0  # km: zone 2 inside, zone 3 beyond
RING_R: Final = 7.0  # km: the motorway ring
_RADIALS: Final = (0.8, 1.6, 2.5, 4.0, 5.5, 7.0, 9.0, 12.0, 16.0, 20.0, 25.0, 30.0)
#: Free-flow speeds in km/h by class and zone.
_SPEED: Final = {
    (MOTORWAY, 2): 100.0,
    (MOTORWAY, 3): 120.0,
    (MAIN, 1): 35.0,
    (MAIN, 2): 50.0,
    (MAIN, 3): 80.0,
    (LOCAL, 1): 20.0,
    (LOCAL, 2): 30.0,
    (LOCAL, 3): 45.0,
}
#: Rush-hour speed factors by zone (weekdays 07:00-08:59 and 16:00-18:59).
_RUSH: Final = {1: 0.55, 2: 0.7, 3: 0.9}


def zone_of(x: float, y: float) -> int:
    r = math.hypot(x, y)
    return 1 if r < CENTRE_R else 2 if r < URBAN_R else 3


def cell_name(cell: int) -> str:
    return f"{CLASS_NAMES[cell % 10]}, {ZONE_NAMES[cell // 10]}"


@dataclass(frozen=True, slots=True)
class Link:
    """A road link between two nodes: its length in metres, its class and its zone."""

    a: int
    b: int
    metres: int
    road_class: int
    zone: int

    @property
    def cell(self) -> int:
        return 10 * self.zone + self.road_class

    def free_speed(self) -> float:
        """Free-flow speed in metres per second."""
        return _SPEED[(self.road_class, self.zone)] / 3.6


@dataclass(slots=True)
class Network:
    """Nodes (coordinates in km) and undirected links; places are named nodes."""

    nodes: list[tuple[float, float]] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    adjacency: dict[int, list[int]] = field(default_factory=dict)  # node -> link numbers
    places: dict[str, int] = field(default_factory=dict)

    def node(self, x: float, y: float) -> int:
        self.nodes.append((x, y))
        self.adjacency[len(self.nodes) - 1] = []
        return len(self.nodes) - 1

    def link(self, a: int, b: int, road_class: int, detour: float = 1.0) -> None:
        (xa, ya), (xb, yb) = self.nodes[a], self.nodes[b]
        metres = max(50, round(math.hypot(xb - xa, yb - ya) * 1000 * detour))
        zone = zone_of((xa + xb) / 2, (ya + yb) / 2)
        if road_class == MOTORWAY and zone == 1:
            raise AssertionError("no motorway in the centre")
        self.links.append(Link(a, b, metres, road_class, zone))
        self.adjacency[a].append(len(self.links) - 1)
        self.adjacency[b].append(len(self.links) - 1)

    def distance(self, n: int, x: float, y: float) -> float:
        """Kilometres from node ``n`` to the point ``(x, y)``, as the crow flies."""
        return math.hypot(self.nodes[n][0] - x, self.nodes[n][1] - y)

    def place(self, name: str, x: float, y: float, access: Sequence[int]) -> int:
        """A place joined by local streets to its two nearest nodes of ``access``."""
        n = self.node(x, y)
        near = sorted(access, key=lambda m: self.distance(m, x, y))[:2]
        for m in near:
            self.link(n, m, LOCAL, detour=1.3)
        self.places[name] = n
        return n

    def route(self, start: int, end: int) -> list[Link]:
        """The fastest route at free-flow speeds (Dijkstra), as the links driven in order."""
        best = {start: 0.0}
        back: dict[int, tuple[int, int]] = {}
        heap = [(0.0, start)]
        while heap:
            t, n = heapq.heappop(heap)
            if n == end:
                break
            if t > best[n]:
                continue
            for k in self.adjacency[n]:
                lk = self.links[k]
                m = lk.b if lk.a == n else lk.a
                tm = t + lk.metres / lk.free_speed()
                if tm < best.get(m, math.inf):
                    best[m] = tm
                    back[m] = (n, k)
                    heapq.heappush(heap, (tm, m))
        if end not in best:
            raise AssertionError("the network is connected")
        out: list[Link] = []
        n = end
        while n != start:
            n, k = back[n]
            out.append(self.links[k])
        return out[::-1]


def _polar(r: float, degrees: float) -> tuple[float, float]:
    a = math.radians(degrees)
    return r * math.cos(a), r * math.sin(a)


@cache
def network() -> Network:
    """The region's road network (the same for every household)."""
    net = Network()
    centre = net.node(0.0, 0.0)
    radial: dict[tuple[int, float], int] = {}
    for d in range(8):
        prev = centre
        for r in _RADIALS:
            n = net.node(*_polar(r, 45.0 * d))
            radial[(d, r)] = n
            net.link(prev, n, MAIN, detour=1.05)
            prev = n
    for d in range(8):  # inner ring (main road, in the centre) and outer rural ring
        net.link(radial[(d, 1.6)], radial[((d + 1) % 8, 1.6)], MAIN, detour=1.1)
        net.link(radial[(d, 16.0)], radial[((d + 1) % 8, 16.0)], MAIN, detour=1.15)
    ring: list[int] = []  # motorway ring: junctions beside the radials, midpoints between
    for d in range(8):
        ring.append(net.node(*_polar(RING_R + 0.3, 45.0 * d)))
        ring.append(net.node(*_polar(RING_R + 0.3, 45.0 * d + 22.5)))
    for k, n in enumerate(ring):
        net.link(n, ring[(k + 1) % len(ring)], MOTORWAY)
        if k % 2 == 0:  # ramps (main road) to the radial
            net.link(n, radial[(k // 2, RING_R)], MAIN, detour=1.2)
    # Motorways to two neighbouring towns, with an exit to the rural ring on the way.
    for degrees, town_r, name in ((0.0, 38.0, "town-east"), (135.0, 30.0, "town-northwest")):
        prev = ring[round(degrees / 22.5)]
        for r in (10.0, 15.0, 22.0, town_r):
            n = net.node(*_polar(r, degrees + 3.0))
            net.link(prev, n, MOTORWAY)
            if r == 15.0:
                net.link(n, radial[(round(degrees / 45.0), 16.0)], MAIN, detour=1.2)
            prev = n
        town = net.node(*_polar(town_r + 1.0, degrees))
        net.link(prev, town, MAIN, detour=1.2)
        net.places[name] = town
        for i, (dr, dd) in enumerate(((0.8, 0.0), (-0.8, 0.0), (0.0, 2.0), (0.0, -2.0))):
            g = net.node(*_polar(town_r + 1.0 + dr, degrees + dd))
            net.link(town, g, LOCAL, detour=1.2)
            net.places[f"{name}-{i}"] = g
    _places(net, radial)
    return net


def _places(net: Network, radial: dict[tuple[int, float], int]) -> None:
    """Fixed places: the centre's offices and shops, business parks by the motorway ring, a mall,
    a lake, suburbs and villages (homes and friends)."""
    rng = random.Random(20260101)  # the region's layout, not the household
    main_nodes = list(radial.values())
    inner = [n for (d, r), n in radial.items() if r <= CENTRE_R]
    for i in range(6):
        net.place(f"office-centre-{i}", *_polar(rng.uniform(0.3, 2.2), rng.uniform(0, 360)), inner)
        net.place(f"shop-centre-{i}", *_polar(rng.uniform(0.3, 2.2), rng.uniform(0, 360)), inner)
    for i, degrees in enumerate((60.0, 200.0, 300.0)):
        net.place(f"business-park-{i}", *_polar(RING_R + 0.8, degrees), main_nodes)
    net.place("mall", *_polar(RING_R - 0.6, 250.0), main_nodes)
    net.place("lake", *_polar(24.0, 235.0), main_nodes)
    net.place("forest", *_polar(19.0, 95.0), main_nodes)
    for i in range(24):
        suburb = net.place(
            f"suburb-{i}", *_polar(rng.uniform(3.5, 8.5), rng.uniform(0, 360)), main_nodes
        )
        x, y = net.nodes[suburb]
        net.place(
            f"suburb-shop-{i}", x + rng.uniform(-0.6, 0.6), y + rng.uniform(-0.6, 0.6), [suburb]
        )
    for i in range(16):
        village = net.place(
            f"village-{i}", *_polar(rng.uniform(10.5, 26.0), rng.uniform(0, 360)), main_nodes
        )
        x, y = net.nodes[village]
        net.place(
            f"village-shop-{i}", x + rng.uniform(-0.8, 0.8), y + rng.uniform(-0.8, 0.8), [village]
        )


# --- a household and its trips -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Household:
    """Where a household lives, works (``None``: no commute), shops and goes out."""

    home: str
    work: str | None
    shops: tuple[str, ...]
    outings: tuple[str, ...]  # evening: friends, gym, cinema
    excursions: tuple[str, ...]  # weekends: the lake, the forest, the towns, family


def household(seed: int | None) -> Household:
    rng = random.Random(seed)
    places = network().places

    def some(prefix: str) -> list[str]:
        """The places named ``prefix…`` (not their shops)."""
        return sorted(p for p in places if p.startswith(prefix) and "-shop-" not in p)

    home = rng.choice(some("suburb-") if rng.random() < 0.7 else some("village-"))
    local_shop = home.replace("suburb-", "suburb-shop-").replace("village-", "village-shop-")
    work_kind = rng.random()
    work: str | None
    if work_kind < 0.5:
        work = rng.choice(some("office-centre-"))
    elif work_kind < 0.75:
        work = rng.choice(some("business-park-"))
    elif work_kind < 0.88:
        work = rng.choice(["town-east-0", "town-northwest-1"])
    else:
        work = None
    friends = rng.sample(some("suburb-") + some("village-"), 3)
    return Household(
        home=home,
        work=work,
        shops=(local_shop, "mall", rng.choice(some("shop-centre-"))),
        outings=(*friends[:2], rng.choice(some("shop-centre-"))),
        excursions=("lake", "forest", "town-east", "town-northwest", friends[2]),
    )


@dataclass(frozen=True, slots=True)
class Segment:
    """Driving on one link: from UTC second ``start`` to ``end``, ``metres`` in ``cell``."""

    start: float
    end: float
    metres: int
    cell: int


def _at(day: datetime, hours: float) -> float:
    return (day + timedelta(hours=hours)).timestamp()


def _plan(h: Household, day: datetime, rng: random.Random) -> list[tuple[float, str]]:
    """A day's planned departures ``(UTC second, destination)``, in order, from home."""
    wd = day.weekday()
    out: list[tuple[float, str]] = []
    if wd < 5:
        if h.work is not None and rng.random() < 0.82:
            out.append((_at(day, rng.gauss(7.6, 0.4)), h.work))
            back = rng.gauss(17.0, 0.7)
            if rng.random() < 0.25:
                out.append((_at(day, back), rng.choice(h.shops)))
                back += rng.uniform(0.4, 0.8)
            out.append((_at(day, back), h.home))
        elif rng.random() < 0.4:
            t = rng.uniform(9.5, 15.0)
            out += [
                (_at(day, t), rng.choice(h.shops)),
                (_at(day, t + rng.uniform(0.5, 1.5)), h.home),
            ]
        if rng.random() < 0.22:
            t = rng.uniform(18.8, 20.5)
            out += [
                (_at(day, t), rng.choice(h.outings)),
                (_at(day, t + rng.uniform(1.5, 3.5)), h.home),
            ]
    else:
        if wd == 5 and rng.random() < 0.75:
            t = rng.uniform(9.3, 11.8)
            out += [
                (_at(day, t), rng.choice(h.shops[:2])),
                (_at(day, t + rng.uniform(0.8, 2.0)), h.home),
            ]
        if rng.random() < (0.45 if wd == 5 else 0.55):
            t = rng.uniform(12.5, 15.0) if wd == 5 else rng.uniform(10.0, 14.0)
            out += [
                (_at(day, t), rng.choice(h.excursions)),
                (_at(day, t + rng.uniform(2.0, 6.0)), h.home),
            ]
        elif rng.random() < 0.3:
            t = rng.uniform(18.5, 20.0)
            out += [
                (_at(day, t), rng.choice(h.outings)),
                (_at(day, t + rng.uniform(2.0, 4.5)), h.home),
            ]
    return out


def _rush(ts: float, tz: ZoneInfo) -> bool:
    local = datetime.fromtimestamp(ts, tz)
    return local.weekday() < 5 and local.hour in (7, 8, 16, 17, 18)


def trips(h: Household, start: int, end: int, tz: ZoneInfo, seed: int | None) -> list[Segment]:
    """Every link driven between UTC seconds ``start`` and ``end`` (segments that overlap
    them), from a day before ``start``: the car may be away from home when ``start`` comes."""
    rng = random.Random(seed)
    net = network()
    first_day = datetime.fromtimestamp(start, tz).date() - timedelta(days=1)
    last_day = datetime.fromtimestamp(end, tz).date()
    where, free_at = net.places[h.home], float(start - 86400)
    out: list[Segment] = []
    d = first_day
    while d <= last_day:
        midnight = datetime(d.year, d.month, d.day, tzinfo=tz)
        for planned, dest in _plan(h, midnight, rng):
            target = net.places[dest]
            if target == where:
                continue
            t = max(planned, free_at + 600.0)
            factor = min(1.2, max(0.8, rng.gauss(1.0, 0.07)))
            for lk in net.route(where, target):
                speed = lk.free_speed() * factor * (_RUSH[lk.zone] if _rush(t, tz) else 1.0)
                dt = lk.metres / speed
                out.append(Segment(t, t + dt, lk.metres, lk.cell))
                t += dt
            where, free_at = target, t
        d += timedelta(days=1)
    return [s for s in out if s.end > start and s.start < end]


# --- the on-board unit -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Drive:
    """What the on-board unit records over ``count`` intervals: per interval the metres of one
    segment and the segment's cell; and, for the record, the metres driven per cell, the metres
    committed later than the interval they were driven in, by delay (in intervals)."""

    readings: list[tuple[int, int]]
    trips: int
    metres_by_cell: dict[int, int]
    delayed: dict[int, int]

    @property
    def metres(self) -> int:
        return sum(m for m, _ in self.readings)


def _pieces(
    segments: Sequence[Segment], first: int, count: int, interval_s: int
) -> list[list[tuple[int, float]]]:
    """Per interval, the ``(cell, metres)`` driven in it, in driving order."""
    per: list[list[tuple[int, float]]] = [[] for _ in range(count)]
    t0 = first * interval_s
    for s in segments:
        rate = s.metres / (s.end - s.start)
        k = max(0, int((s.start - t0) // interval_s))
        while k < count and t0 + k * interval_s < s.end:
            lo, hi = t0 + k * interval_s, t0 + (k + 1) * interval_s
            part = (min(hi, s.end) - max(lo, s.start)) * rate
            if part > 0:
                per[k].append((s.cell, part))
            k += 1
    return per


def on_board_unit(
    segments: Sequence[Segment], first: int, count: int, interval_s: int, parked_cell: int
) -> Drive:
    """The readings of intervals ``first .. first + count - 1``.

    The unit cuts its drive into *segments*, runs of driving in one cell, and commits to one
    segment per interval: the metres driven are queued in driving order (consecutive metres in
    the same cell merge), and each interval takes the queue's first segment — all of it, in
    whole metres from an odometer that never loses a fraction. Normally that is the interval's
    own driving; when an interval crosses from one cell into another, the rest waits for the
    next interval, so a segment may be committed an interval or two after it was driven, and
    is priced in that interval's time band. An interval with nothing queued (a parked car)
    commits 0 metres in the cell it is parked in."""
    queue: list[tuple[int, list[tuple[int, float]]]] = []  # cell, (interval driven, metres)
    readings: list[tuple[int, int]] = []
    by_cell = {c: 0.0 for c in CELLS}
    odometer, shown = 0.0, 0
    delayed: dict[int, float] = {}
    cell = parked_cell
    for k, pieces in enumerate(_pieces(segments, first, count, interval_s)):
        for c, m in pieces:
            by_cell[c] += m
            if queue and queue[-1][0] == c:
                queue[-1][1].append((k, m))
            else:
                queue.append((c, [(k, m)]))
        if not queue:
            readings.append((0, cell))
            continue
        cell, parts = queue.pop(0)
        total = sum(m for _, m in parts)
        odometer += total
        metres = round(odometer) - shown
        shown += metres
        for since, m in parts:
            if since < k:
                delayed[k - since] = delayed.get(k - since, 0.0) + m
        readings.append((metres, cell))
    trip_starts = sum(
        1
        for a, b in zip([None, *segments], segments, strict=False)
        if a is None or b.start - a.end > 1
    )
    return Drive(
        readings,
        trip_starts,
        {c: round(v) for c, v in by_cell.items()},
        {d: round(v) for d, v in sorted(delayed.items())},
    )


def drive(
    start: int, count: int, interval_s: int, tz: ZoneInfo, *, seed: int | None = None
) -> Drive:
    """A household's month (or any span) on the road: ``count`` intervals from UTC second
    ``start`` (a multiple of ``interval_s``)."""
    if start % interval_s:
        raise UsageError("the first interval must start on a multiple of the interval length")
    h = household(seed)
    segments = trips(h, start, start + count * interval_s, tz, seed)
    net = network()
    home = net.places[h.home]
    parked = next(net.links[k].cell for k in net.adjacency[home])
    return on_board_unit(segments, start // interval_s, count, interval_s, parked)
