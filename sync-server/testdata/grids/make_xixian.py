#!/usr/bin/env python3
"""Writes the Xixian (息县) test grid and the bad grid files beside this script.

    python3 make_xixian.py           # (re)write every file
    python3 make_xixian.py --check   # check the files on disk, write nothing

Standard library only, and deterministic: the jitter comes from a
`random.Random` with a fixed seed, so a rerun writes byte-identical files.

The grid is an 8 x 8 lattice of roughly 500 m x 500 m quadrilaterals around
the county town (centre 32.34 N, 114.74 E), about 4 km x 4 km. Each lattice
vertex is jittered once and rounded to 7 decimals once; every cell refers to
those same rounded vertices, so neighbours share exactly the same positions
(no gaps, no overlaps, no rounding slivers). Most cells are one quad; three
are two quads merged into one Polygon, and one is a MultiPolygon of two
separate quads (an "enclave" cell), which gives 64 quads -> 60 cells.

Street offices, communities and grid ids are plausible but fictional; grid
ids are 411528 (the county's division code) + street office (2 digits) +
community (2) + cell (2).

CRS: xixian.geojson is WGS-84 (RFC 7946, lon/lat order). xixian-gcj02.geojson
holds the same cells with every position passed through the public
WGS-84 -> GCJ-02 formula (eviltransform / coordtransform), transcribed from
core/src/domain/geo.rs (`wgs84_to_gcj02`, `transform_lat`, `transform_lng`,
a = 6378245.0, ee = 0.00669342162296594323) and then rounded to 7 decimals.
Importing that file with `--crs gcj02` runs the Rust side's numerical
inverse (`convert(p, Gcj02, Wgs84)`), which gives back the WGS-84 cells to
within a few centimetres (`--check` verifies that with the same inverse).
In this area GCJ-02 lies a few hundred metres from WGS-84.
"""

import argparse
import json
import math
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BAD = os.path.join(HERE, "bad")

# ---------------------------------------------------------------- layout

CENTRE_LAT = 32.34
CENTRE_LON = 114.74
COLS = ROWS = 8
CELL_M = 500.0
JITTER = 0.12  # of a cell's side, per axis
SEED = 411528
DIGITS = 7
COUNTY_CODE = "411528"

# Metres per degree on the mean sphere (R = 6371008.8 m, as geo.rs uses).
M_PER_DEG_LAT = 6371008.8 * math.pi / 180.0
M_PER_DEG_LON = M_PER_DEG_LAT * math.cos(math.radians(CENTRE_LAT))
DLAT = CELL_M / M_PER_DEG_LAT
DLON = CELL_M / M_PER_DEG_LON

# (code, street office, [(code, community), ...])
STREETS = [
    (1, "谯楼街道", [(1, "谯楼社区"), (2, "幸福社区"), (3, "西大街社区"), (4, "东大街社区")]),
    (2, "龙湖街道", [(1, "龙城社区"), (2, "龙湖社区"), (3, "西关社区")]),
    (3, "淮河街道", [(1, "临淮社区"), (2, "滨河社区"), (3, "南关社区")]),
    (4, "息州街道", [(1, "息州社区"), (2, "东关社区")]),
    (5, "城郊街道", [(1, "北关社区"), (2, "新城社区")]),
]


def owner(c, r):
    """(street index, community index) of lattice quad (column c from the
    west, row r from the south)."""
    if r <= 1:  # the south strip, along the Huai: 淮河街道
        return 2, 0 if c <= 2 else 1 if c <= 5 else 2
    if c <= 1:  # west: 龙湖街道, north to south
        return 1, {6: 0, 7: 0, 4: 1, 5: 1, 2: 2, 3: 2}[r]
    if c >= 6:  # east: 息州街道
        return 3, 0 if r >= 5 else 1
    if r >= 6:  # north: 城郊街道
        return 4, 0 if c <= 3 else 1
    # the old town, 4 x 4 quads: 谯楼街道, one community per quadrant
    return 0, {(False, True): 0, (True, True): 1, (False, False): 2, (True, False): 3}[(c >= 4, r >= 4)]


# Cells of more than one quad: a list of parts, each a set of quads.
SPECIAL = [
    [{(0, 0)}, {(2, 0)}],  # 临淮社区: a MultiPolygon, its parts split by (1, 0)
    [{(0, 7), (1, 7)}],  # 龙城社区: two quads side by side
    [{(2, 7), (3, 7)}],  # 北关社区: side by side
    [{(5, 6), (5, 7)}],  # 新城社区: one above the other
]

# Quads whose centroid goes into points.json (spread over all five offices;
# (2, 0) is the MultiPolygon's second part, (1, 7) and (5, 6) merged cells).
POINT_QUADS = [(2, 0), (6, 1), (0, 3), (1, 7), (3, 3), (4, 4), (2, 5), (7, 6), (6, 3), (5, 6)]
OUTSIDE_POINTS = [(32.40, 114.74), (32.30, 114.66)]  # ~6.5 km north, ~9 km south-west

# ---------------------------------------------------------------- GCJ-02
# A transcription of core/src/domain/geo.rs, operation for operation.

GCJ_A = 6378245.0
GCJ_EE = 0.00669342162296594323


def out_of_china(lng, lat):
    return not (72.004 <= lng <= 137.8347) or not (0.8293 <= lat <= 55.8271)


def transform_lat(lng, lat):
    pi = math.pi
    ret = -100.0 + 2.0 * lng + 3.0 * lat + 0.2 * lat * lat + 0.1 * lng * lat + 0.2 * math.sqrt(abs(lng))
    ret += (20.0 * math.sin(6.0 * lng * pi) + 20.0 * math.sin(2.0 * lng * pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(lat * pi) + 40.0 * math.sin(lat / 3.0 * pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(lat / 12.0 * pi) + 320.0 * math.sin(lat * pi / 30.0)) * 2.0 / 3.0
    return ret


def transform_lng(lng, lat):
    pi = math.pi
    ret = 300.0 + lng + 2.0 * lat + 0.1 * lng * lng + 0.1 * lng * lat + 0.1 * math.sqrt(abs(lng))
    ret += (20.0 * math.sin(6.0 * lng * pi) + 20.0 * math.sin(2.0 * lng * pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(lng * pi) + 40.0 * math.sin(lng / 3.0 * pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(lng / 12.0 * pi) + 300.0 * math.sin(lng / 30.0 * pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lng, lat):
    """(lng, lat) WGS-84 -> (lng, lat) GCJ-02."""
    if out_of_china(lng, lat):
        return lng, lat
    dlat = transform_lat(lng - 105.0, lat - 35.0)
    dlng = transform_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1.0 - GCJ_EE * math.sin(radlat) * math.sin(radlat)
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((GCJ_A * (1.0 - GCJ_EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (GCJ_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lng + dlng, lat + dlat


def gcj02_to_wgs84(lng, lat):
    """The fixed-point inverse geo.rs uses (`invert`)."""
    x, y = lng, lat
    for _ in range(30):
        fx, fy = wgs84_to_gcj02(x, y)
        dx, dy = fx - lng, fy - lat
        x -= dx
        y -= dy
        if abs(dx) < 1e-12 and abs(dy) < 1e-12:
            break
    return x, y


def distance_m(a, b):
    """Haversine distance in metres between two (lng, lat) positions."""
    r = 6371008.8
    phi1, phi2 = math.radians(a[1]), math.radians(b[1])
    dphi = math.radians(b[1] - a[1])
    dlam = math.radians(b[0] - a[0])
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(h)))


# ---------------------------------------------------------------- geometry (lon = x, lat = y)


def signed_area(ring):
    """Shoelace area of a closed ring, positive when counter-clockwise."""
    return sum(ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1] for i in range(len(ring) - 1)) / 2.0


def cross(o, a, b):
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def segments_meet(p1, p2, p3, p4):
    """Whether closed segments p1p2 and p3p4 share a point."""
    d1, d2 = cross(p3, p4, p1), cross(p3, p4, p2)
    d3, d4 = cross(p1, p2, p3), cross(p1, p2, p4)
    if ((d1 > 0) != (d2 > 0)) and d1 != 0 and d2 != 0 and ((d3 > 0) != (d4 > 0)) and d3 != 0 and d4 != 0:
        return True

    def on(p, q, r):  # r on segment pq, given collinear
        return min(p[0], q[0]) <= r[0] <= max(p[0], q[0]) and min(p[1], q[1]) <= r[1] <= max(p[1], q[1])

    return (
        (d1 == 0 and on(p3, p4, p1))
        or (d2 == 0 and on(p3, p4, p2))
        or (d3 == 0 and on(p1, p2, p3))
        or (d4 == 0 and on(p1, p2, p4))
    )


def ring_is_simple(ring):
    """No two non-adjacent edges of the closed ring meet, and adjacent ones
    meet only at their shared vertex (no repeated vertices)."""
    n = len(ring) - 1
    if len(set(map(tuple, ring[:-1]))) != n:
        return False
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue
            if segments_meet(ring[i], ring[i + 1], ring[j], ring[j + 1]):
                return False
    return True


def in_ring(x, y, ring):
    """Ray casting (even-odd)."""
    inside = False
    for i in range(len(ring) - 1):
        (x1, y1), (x2, y2) = ring[i], ring[i + 1]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def polygons_of(geometry):
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    return geometry["coordinates"]


def contains(geometry, x, y):
    return any(in_ring(x, y, poly[0]) and not any(in_ring(x, y, h) for h in poly[1:]) for poly in polygons_of(geometry))


def quad_centroid(quad):
    """Area centroid of a convex polygon (a closed ring), by triangle fan."""
    ax, ay, area = 0.0, 0.0, 0.0
    o = quad[0]
    for i in range(1, len(quad) - 2):
        a = cross(o, quad[i], quad[i + 1]) / 2.0
        ax += a * (o[0] + quad[i][0] + quad[i + 1][0]) / 3.0
        ay += a * (o[1] + quad[i][1] + quad[i + 1][1]) / 3.0
        area += a
    return ax / area, ay / area


# ---------------------------------------------------------------- building the grid


def lattice():
    """(COLS+1) x (ROWS+1) jittered, rounded vertices: v[c][r] = [lon, lat]."""
    rng = random.Random(SEED)
    lon0 = CENTRE_LON - DLON * COLS / 2
    lat0 = CENTRE_LAT - DLAT * ROWS / 2
    v = []
    for c in range(COLS + 1):
        col = []
        for r in range(ROWS + 1):
            jx = rng.uniform(-JITTER, JITTER)
            jy = rng.uniform(-JITTER, JITTER)
            col.append([round(lon0 + (c + jx) * DLON, DIGITS), round(lat0 + (r + jy) * DLAT, DIGITS)])
        v.append(col)
    return v


def quad_corners(c, r):
    """Lattice indices of quad (c, r), counter-clockwise from the south-west."""
    return [(c, r), (c + 1, r), (c + 1, r + 1), (c, r + 1)]


def part_ring(quads, v):
    """The closed CCW boundary of a simply connected set of quads. Interior
    edges cancel; the lattice vertices along the boundary stay, so the ring
    meets its neighbours vertex for vertex."""
    edges = set()
    for c, r in quads:
        k = quad_corners(c, r)
        for i in range(4):
            edges.add((k[i], k[(i + 1) % 4]))
    boundary = {a: b for a, b in edges if (b, a) not in edges}
    start = min(boundary, key=lambda k: (k[1], k[0]))
    ring, at = [start], boundary[start]
    while at != start:
        ring.append(at)
        at = boundary[at]
    assert len(ring) == len(boundary), "a part must be one simply connected piece"
    ring.append(start)
    return [list(v[c][r]) for c, r in ring]


def build_cells():
    """Features in order: street office, community, cell number."""
    v = lattice()
    for c in range(COLS):
        for r in range(ROWS):
            k = [v[i][j] for i, j in quad_corners(c, r)]
            assert all(cross(k[i], k[(i + 1) % 4], k[(i + 2) % 4]) > 0 for i in range(4)), f"quad {(c, r)} is not convex"
    cells = {}  # frozenset of quads -> parts
    taken = set()
    for parts in SPECIAL:
        quads = frozenset().union(*parts)
        assert not (quads & taken)
        taken |= quads
        cells[quads] = parts
    for c in range(COLS):
        for r in range(ROWS):
            if (c, r) not in taken:
                cells[frozenset({(c, r)})] = [{(c, r)}]
    by_community = {}
    for quads, parts in cells.items():
        owners = {owner(c, r) for c, r in quads}
        assert len(owners) == 1, f"cell {sorted(quads)} straddles communities"
        by_community.setdefault(owners.pop(), []).append((quads, parts))
    features = []
    for si, (scode, street, communities) in enumerate(STREETS):
        for ci, (ccode, community) in enumerate(communities):
            members = sorted(by_community.pop((si, ci)), key=lambda m: min((-r, c) for c, r in m[0]))
            for n, (quads, parts) in enumerate(members, start=1):
                rings = [part_ring(p, v) for p in sorted(parts, key=lambda p: min(p))]
                if len(rings) == 1:
                    geometry = {"type": "Polygon", "coordinates": [rings[0]]}
                else:
                    geometry = {"type": "MultiPolygon", "coordinates": [[ring] for ring in rings]}
                props = {
                    "grid_id": f"{COUNTY_CODE}{scode:02d}{ccode:02d}{n:02d}",
                    "name": f"{street} {community} 第{n}网格",
                    "community": community,
                    "street_office": street,
                }
                features.append({"type": "Feature", "properties": props, "geometry": geometry, "_quads": quads})
    assert not by_community
    return features, v


def map_geometry(geometry, f):
    def ring(r):
        return [list(f(p)) for p in r]

    if geometry["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [ring(r) for r in geometry["coordinates"]]}
    return {"type": "MultiPolygon", "coordinates": [[ring(r) for r in poly] for poly in geometry["coordinates"]]}


def to_gcj(p):
    lng, lat = wgs84_to_gcj02(p[0], p[1])
    return round(lng, DIGITS), round(lat, DIGITS)


# ---------------------------------------------------------------- writing


def dump_collection(features, path):
    """One feature per line: readable diffs without a line per number."""
    lines = [json.dumps({k: f[k] for k in ("type", "properties", "geometry")}, ensure_ascii=False, separators=(",", ":")) for f in features]
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write('{"type":"FeatureCollection","features":[\n')
        out.write(",\n".join(lines))
        out.write("\n]}\n")


def write_json(obj, path):
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        json.dump(obj, out, ensure_ascii=False, indent=2)
        out.write("\n")


def square(lon, lat, side=0.001):
    """A small closed CCW square with its south-west corner at (lon, lat)."""
    return [[lon, lat], [round(lon + side, DIGITS), lat], [round(lon + side, DIGITS), round(lat + side, DIGITS)], [lon, round(lat + side, DIGITS)], [lon, lat]]


def good_feature(i):
    lon, lat = round(114.730 + 0.002 * i, DIGITS), 32.335
    return {
        "type": "Feature",
        "properties": {"grid_id": f"T-{i + 1:02d}", "name": f"测试街道 测试社区 第{i + 1}网格", "community": "测试社区", "street_office": "测试街道"},
        "geometry": {"type": "Polygon", "coordinates": [square(lon, lat)]},
    }


def bad_files():
    """name -> (text, expected)."""
    files = {}

    def collection(mutate, index, phrase, name):
        feats = [good_feature(i) for i in range(3)]
        mutate(feats)
        files[name] = (json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False, indent=2) + "\n", {"index": index, "contains": phrase})

    files["not-geojson.geojson"] = ("grid_id,name,community,street_office\nT-01,第1网格,测试社区,测试街道\n", {"index": None, "contains": "json"})
    files["not-a-collection.geojson"] = (json.dumps(good_feature(0), ensure_ascii=False, indent=2) + "\n", {"index": None, "contains": "featurecollection"})

    def no_grid_id(f):
        del f[1]["properties"]["grid_id"]

    def duplicate(f):
        f[2]["properties"]["grid_id"] = f[0]["properties"]["grid_id"]

    def unclosed(f):
        ring = f[1]["geometry"]["coordinates"][0]
        ring[-1] = [round(ring[0][0] + 0.0002, DIGITS), ring[0][1]]

    def bow_tie(f):
        a, b, c, d = f[1]["geometry"]["coordinates"][0][:4]
        f[1]["geometry"]["coordinates"][0] = [a, b, d, c, a]  # edges b-d and c-a cross

    def out_of_range(f):
        ring = f[1]["geometry"]["coordinates"][0]
        ring[2] = [ring[2][0], 95.0]  # still a simple, closed, CCW ring

    def point(f):
        f[1]["geometry"] = {"type": "Point", "coordinates": [114.7325, 32.3355]}

    def no_street(f):
        del f[1]["properties"]["street_office"]

    collection(no_grid_id, 1, "grid_id", "no-grid-id.geojson")
    collection(duplicate, 2, "duplicate", "duplicate-grid-id.geojson")
    collection(unclosed, 1, "closed", "unclosed-ring.geojson")
    collection(bow_tie, 1, "self-intersect", "self-intersecting.geojson")
    collection(out_of_range, 1, "range", "out-of-range.geojson")
    collection(point, 1, "polygon", "point-geometry.geojson")
    collection(no_street, 1, "street_office", "missing-street-office.geojson")
    return files


def generate():
    features, v = build_cells()
    dump_collection(features, os.path.join(HERE, "xixian.geojson"))
    gcj = [dict(f, geometry=map_geometry(f["geometry"], to_gcj)) for f in features]
    dump_collection(gcj, os.path.join(HERE, "xixian-gcj02.geojson"))

    points = []
    for c, r in POINT_QUADS:
        quad = [v[i][j] for i, j in quad_corners(c, r)] + [v[c][r]]
        lon, lat = quad_centroid(quad)
        cell = next(f for f in features if (c, r) in f["_quads"])
        points.append({"latitude": round(lat, DIGITS), "longitude": round(lon, DIGITS), "grid_id": cell["properties"]["grid_id"]})
    for lat, lon in OUTSIDE_POINTS:
        points.append({"latitude": lat, "longitude": lon, "grid_id": None})
    write_json(points, os.path.join(HERE, "points.json"))

    os.makedirs(BAD, exist_ok=True)
    expected = {}
    for name, (text, exp) in bad_files().items():
        with open(os.path.join(BAD, name), "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        expected[name] = exp
    write_json(expected, os.path.join(BAD, "expected.json"))
    print(f"wrote {len(features)} cells, {len(points)} points, {len(expected)} bad files")


# ---------------------------------------------------------------- checking


def reference_error(text):
    """A reference validator: (index or None, lower-case message) of the
    first defect, or None. It shows that bad/expected.json is consistent;
    the server's own messages need only contain the phrase."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        return None, f"not valid json: {e}".lower()
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        return None, "the top level must be a featurecollection"
    seen = set()
    for i, f in enumerate(doc["features"]):
        props = f.get("properties") or {}
        for key in ("grid_id", "name", "community", "street_office"):
            if not isinstance(props.get(key), str) or not props[key]:
                return i, f"missing {key}"
        if props["grid_id"] in seen:
            return i, f"duplicate grid_id {props['grid_id']}"
        seen.add(props["grid_id"])
        g = f.get("geometry") or {}
        if g.get("type") not in ("Polygon", "MultiPolygon"):
            return i, "geometry must be a polygon or multipolygon"
        for poly in polygons_of(g):
            for ring in poly:
                if any(not (-180 <= p[0] <= 180 and -90 <= p[1] <= 90) for p in ring):
                    return i, "coordinate out of range"
                if len(ring) < 4 or ring[0] != ring[-1]:
                    return i, "ring is not closed"
                if not ring_is_simple(ring):
                    return i, "ring self-intersects"
    return None


def load(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return json.load(f)


def check():
    problems = []

    def expect(ok, what):
        if not ok:
            problems.append(what)

    wgs = load("xixian.geojson")["features"]
    gcj = load("xixian-gcj02.geojson")["features"]
    ids = [f["properties"]["grid_id"] for f in wgs]
    expect(len(wgs) == 60, f"{len(wgs)} cells, not 60")
    expect(len(set(ids)) == len(ids), "grid_ids are not unique")
    expect(all(set(f["properties"]) == {"grid_id", "name", "community", "street_office"} for f in wgs), "unexpected properties")
    expect(any(f["geometry"]["type"] == "MultiPolygon" and len(f["geometry"]["coordinates"]) == 2 for f in wgs), "no two-part MultiPolygon")
    streets = {}
    for f in wgs:
        p = f["properties"]
        streets.setdefault(p["street_office"], {}).setdefault(p["community"], []).append(p["grid_id"])
    expect(len(streets) == 5, f"{len(streets)} street offices")
    expect(all(2 <= len(c) <= 4 for c in streets.values()), "a street office without 2-4 communities")

    for label, feats in (("wgs84", wgs), ("gcj02", gcj)):
        for f in feats:
            gid = f["properties"]["grid_id"]
            for poly in polygons_of(f["geometry"]):
                for ring in poly:
                    expect(len(ring) >= 4 and ring[0] == ring[-1], f"{label} {gid}: ring not closed")
                    expect(signed_area(ring) > 0, f"{label} {gid}: exterior not counter-clockwise")
                    expect(ring_is_simple(ring), f"{label} {gid}: ring self-intersects")
                    expect(all(p == [round(p[0], DIGITS), round(p[1], DIGITS)] for p in ring), f"{label} {gid}: more than {DIGITS} decimals")
        # A tessellation: each directed edge is used once at most, and an
        # edge used one way only lies on the outline; the cells' areas then
        # add up to the outline's area exactly when there are no gaps.
        directed = {}
        for f in feats:
            for poly in polygons_of(f["geometry"]):
                ring = poly[0]
                for i in range(len(ring) - 1):
                    e = (tuple(ring[i]), tuple(ring[i + 1]))
                    directed[e] = directed.get(e, 0) + 1
        expect(all(n == 1 for n in directed.values()), f"{label}: an edge is used twice the same way (overlap)")
        outline = {a: b for (a, b) in directed if (b, a) not in directed}
        start = min(outline)
        ring, at = [start], outline[start]
        while at != start and len(ring) <= len(outline):
            ring.append(at)
            at = outline[at]
        expect(len(ring) == len(outline), f"{label}: the outline is not one ring")
        ring.append(start)
        cells_area = sum(signed_area(poly[0]) for f in feats for poly in polygons_of(f["geometry"]))
        expect(abs(cells_area - signed_area(ring)) < 1e-12, f"{label}: cell areas {cells_area} != outline area {signed_area(ring)}")

    # Overlaps, the plain way: sample points, none in two cells.
    xs = [p[0] for f in wgs for poly in polygons_of(f["geometry"]) for p in poly[0]]
    ys = [p[1] for f in wgs for poly in polygons_of(f["geometry"]) for p in poly[0]]
    bbox = (min(xs), min(ys), max(xs), max(ys))
    steps, hits, inside = 157, 0, 0
    for i in range(steps):
        for j in range(steps):
            x = bbox[0] + (bbox[2] - bbox[0]) * (i + 0.5 + 0.1 * math.sin(j)) / steps
            y = bbox[1] + (bbox[3] - bbox[1]) * (j + 0.5 + 0.1 * math.cos(i)) / steps
            n = sum(contains(f["geometry"], x, y) for f in wgs)
            hits += n > 1
            inside += n == 1
    expect(hits == 0, f"{hits} sample points fall in two cells")

    for p in load("points.json"):
        found = [f["properties"]["grid_id"] for f in wgs if contains(f["geometry"], p["longitude"], p["latitude"])]
        want = [] if p["grid_id"] is None else [p["grid_id"]]
        expect(found == want, f"point {p}: in {found}")

    worst_back, offsets = 0.0, []
    for fw, fg in zip(wgs, gcj):
        expect(fw["properties"] == fg["properties"], "the two files' cells differ")
        for pw, pg in zip(
            (p for poly in polygons_of(fw["geometry"]) for ring in poly for p in ring),
            (p for poly in polygons_of(fg["geometry"]) for ring in poly for p in ring),
        ):
            offsets.append(distance_m(pw, pg))
            worst_back = max(worst_back, distance_m(pw, gcj02_to_wgs84(*pg)))
    expect(100 < min(offsets) and max(offsets) < 1000, f"gcj02 offsets {min(offsets)}..{max(offsets)} m")
    expect(worst_back < 0.1, f"gcj02 -> wgs84 gives back the cells only to {worst_back} m")

    with open(os.path.join(BAD, "expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    on_disk = sorted(n for n in os.listdir(BAD) if n.endswith(".geojson"))
    expect(on_disk == sorted(expected), f"bad/ holds {on_disk}, expected.json names {sorted(expected)}")
    for name, exp in expected.items():
        with open(os.path.join(BAD, name), encoding="utf-8") as f:
            got = reference_error(f.read())
        expect(got is not None and got[0] == exp["index"] and exp["contains"] in got[1], f"bad/{name}: reference says {got}, expected {exp}")
        expect(exp["contains"] == exp["contains"].lower(), f"bad/{name}: phrase not lower-case")
    for name in ("xixian.geojson", "xixian-gcj02.geojson"):
        with open(os.path.join(HERE, name), encoding="utf-8") as f:
            got = reference_error(f.read())
        expect(got is None, f"{name}: reference says {got}")

    print(f"cells: {len(wgs)} ({sum(f['geometry']['type'] == 'MultiPolygon' for f in wgs)} MultiPolygon)")
    for street, communities in streets.items():
        print(f"  {street}: {sum(map(len, communities.values()))} cells; " + ", ".join(f"{c} {len(g)}" for c, g in communities.items()))
    w = distance_m((bbox[0], (bbox[1] + bbox[3]) / 2), (bbox[2], (bbox[1] + bbox[3]) / 2))
    h = distance_m((bbox[0], bbox[1]), (bbox[0], bbox[3]))
    print(f"bbox (wgs84): lon {bbox[0]}..{bbox[2]}, lat {bbox[1]}..{bbox[3]} (~{w:.0f} m x {h:.0f} m)")
    print(f"sample points: {inside} of {steps * steps} in exactly one cell, {hits} in two")
    print(f"gcj02 offset {min(offsets):.1f}..{max(offsets):.1f} m; inverse gives back wgs84 within {worst_back * 100:.2f} cm")
    print(f"bad files: {len(expected)}, all as expected.json says" if not any(p.startswith("bad/") for p in problems) else "bad files: see problems")
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems))
        return 1
    print("ok")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="check the files on disk instead of writing them")
    args = parser.parse_args()
    if args.check:
        sys.exit(check())
    generate()


if __name__ == "__main__":
    main()
