"""The offline half of the API, through the generated Python module."""

import concurrent.futures
import pathlib
import re
import time
import uuid

import pytest

from conftest import bad, photo, stored_files

GEOTAGGED = "google_pixel_N_E.jpg"  # EXIF GPS 50.2996, 14.8203
NO_GPS = "no_exif.jpg"


def draft(sp, *paths, **fields):
    fields.setdefault("category", "garbage")
    return sp.ReportDraft(photo_paths=[photo(p) for p in paths], **fields)


def test_capture_from_a_real_photo_uses_its_geotag(sp, store):
    report = store.create_report(draft(sp, GEOTAGGED, note="  门口堆了很多纸箱  "))
    assert uuid.UUID(report.id).version == 7
    assert report.category == "garbage"
    assert report.note == "门口堆了很多纸箱"
    loc = report.location
    assert loc.source == sp.LocationSource.EXIF
    assert loc.latitude == pytest.approx(50.2996, abs=1e-3)
    assert loc.longitude == pytest.approx(14.8203, abs=1e-3)
    assert loc.accuracy_m is None
    [p] = report.photos
    assert re.fullmatch(r"[0-9a-f]{64}", p.sha256)
    assert max(p.width, p.height) <= 1600 and p.bytes > 0
    assert report.sync_state == sp.SyncState.PENDING
    assert report.sync_error is None
    assert report.status == sp.ReportStatus.SUBMITTED
    assert report.role == sp.ReporterRole.RESIDENT
    assert report.taken_at.startswith("2018-07-25T16:34:23")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", report.created_at)
    assert store.report_count() == 1
    assert store.pending_count() == 1


def test_device_fix_in_gcj02_wins_over_exif_and_is_stored_as_wgs84(sp, store):
    gcj = sp.convert_coordinates(39.915, 116.404, sp.Crs.WGS84, sp.Crs.GCJ02)
    fix = sp.DeviceLocation(latitude=gcj.latitude, longitude=gcj.longitude, accuracy_m=8.5, crs=sp.Crs.GCJ02)
    report = store.create_report(draft(sp, GEOTAGGED, device_location=fix))
    assert report.location.source == sp.LocationSource.DEVICE
    assert report.location.latitude == pytest.approx(39.915, abs=1e-7)
    assert report.location.longitude == pytest.approx(116.404, abs=1e-7)
    assert report.location.accuracy_m == 8.5


def test_manual_pin_on_a_baidu_map_wins_over_the_device_fix(sp, store):
    bd = sp.convert_coordinates(31.2304, 121.4737, sp.Crs.WGS84, sp.Crs.BD09)
    pin = sp.ManualPin(latitude=bd.latitude, longitude=bd.longitude, crs=sp.Crs.BD09)
    fix = sp.DeviceLocation(latitude=30.0, longitude=120.0, accuracy_m=None, crs=sp.Crs.WGS84)
    report = store.create_report(draft(sp, NO_GPS, pin=pin, device_location=fix))
    assert report.location.source == sp.LocationSource.MANUAL
    assert report.location.latitude == pytest.approx(31.2304, abs=1e-7)
    assert report.location.longitude == pytest.approx(121.4737, abs=1e-7)
    assert store.get_report(report.id).location == report.location


def test_no_location_is_an_error_unless_allowed(sp, store, data_dir):
    with pytest.raises(sp.SuishoupaiError.NoLocation, match="place a pin"):
        store.create_report(draft(sp, NO_GPS))
    assert store.report_count() == 0 and stored_files(data_dir) == []
    report = store.create_report(draft(sp, NO_GPS, allow_without_location=True))
    assert report.location is None
    # A geotag on any of the photos is enough.
    located = store.create_report(draft(sp, NO_GPS, GEOTAGGED))
    assert located.location.source == sp.LocationSource.EXIF


def test_camera_buffers(sp, store):
    jpeg = pathlib.Path(photo("samsung_sm-g930f_N_E.jpg")).read_bytes()
    webp = pathlib.Path(photo("apple_iphonex_N_W_orient6.webp")).read_bytes()
    report = store.create_report_from_bytes(sp.ReportDraft(category="illegal_parking"), [jpeg, webp])
    assert len(report.photos) == 2
    assert report.location.source == sp.LocationSource.EXIF
    # The WebP is orientation 6: its rendition is upright (portrait).
    assert report.photos[1].height > report.photos[1].width
    # Paths and buffers together: paths first.
    mixed = store.create_report_from_bytes(draft(sp, NO_GPS, allow_without_location=True), [jpeg])
    assert [p.sha256 for p in mixed.photos][1] == report.photos[0].sha256


def test_png_and_heic(sp, store):
    report = store.create_report(draft(sp, "png_exif_gps_N_E.png"))
    assert report.location.source == sp.LocationSource.EXIF
    with pytest.raises(sp.SuishoupaiError.BadPhoto, match="HEIC"):
        store.create_report(draft(sp, "apple_iphone11promax_N_W.heic"))


@pytest.mark.parametrize(
    "name, error",
    [
        ("truncated_in_scan.jpg", "BadPhoto"),
        ("truncated_after_soi.jpg", "BadPhoto"),
        ("truncated_in_exif.jpg", "BadPhoto"),
        ("empty.jpg", "BadPhoto"),
        ("random_bytes.jpg", "BadPhoto"),
        ("text_named.png", "BadPhoto"),
        ("sof_zero_dimensions.jpg", "BadPhoto"),
        ("bomb_60000x60000.jpg", "TooLarge"),
        ("png_ihdr_100000x100000.png", "TooLarge"),
    ],
)
def test_hostile_files_are_typed_errors_and_store_nothing(sp, store, data_dir, name, error):
    fix = sp.DeviceLocation(latitude=39.9, longitude=116.4, accuracy_m=5.0, crs=sp.Crs.WGS84)
    expected = getattr(sp.SuishoupaiError, error)
    started = time.monotonic()
    # Alone, from a file and from a buffer, with and without a location...
    with pytest.raises(expected) as caught:
        store.create_report(sp.ReportDraft(category="garbage", photo_paths=[bad(name)], device_location=fix))
    assert str(caught.value), "the error has a message to show"
    with pytest.raises(expected):
        store.create_report(sp.ReportDraft(category="garbage", photo_paths=[bad(name)]))
    with pytest.raises(expected):
        store.create_report_from_bytes(sp.ReportDraft(category="garbage", device_location=fix), [pathlib.Path(bad(name)).read_bytes()])
    # ...and beside a good photo: the whole report fails.
    with pytest.raises(expected):
        store.create_report(sp.ReportDraft(category="garbage", photo_paths=[photo(GEOTAGGED), bad(name)], device_location=fix))
    assert time.monotonic() - started < 20
    assert store.report_count() == 0
    assert store.list_reports().reports == []
    assert stored_files(data_dir) == []


def test_hostile_exif_is_accepted_without_a_geotag(sp, store):
    for name in ["exif_gps_lat_95.jpg", "exif_gps_zero_denominator.jpg", "exif_ifd_loop_subifd.jpg"]:
        with pytest.raises(sp.SuishoupaiError.NoLocation):
            store.create_report(sp.ReportDraft(category="other", photo_paths=[bad(name)]))
        report = store.create_report(sp.ReportDraft(category="other", photo_paths=[bad(name)], allow_without_location=True))
        assert report.location is None


def test_missing_photo_file_is_a_bad_photo(sp, store, tmp_path):
    with pytest.raises(sp.SuishoupaiError.BadPhoto, match="cannot read photo file"):
        store.create_report(sp.ReportDraft(category="garbage", photo_paths=[str(tmp_path / "gone.jpg")], allow_without_location=True))
    with pytest.raises(sp.SuishoupaiError.BadPhoto, match="cannot read photo file"):
        store.create_report(sp.ReportDraft(category="garbage", photo_paths=[str(tmp_path / "gone.jpg")]))
    with pytest.raises(sp.SuishoupaiError.BadPhoto, match="not a file"):
        store.create_report(sp.ReportDraft(category="garbage", photo_paths=[str(tmp_path)], allow_without_location=True))


def test_invalid_input(sp, store):
    E = sp.SuishoupaiError
    fix = sp.DeviceLocation(latitude=39.9, longitude=116.4, accuracy_m=None, crs=sp.Crs.WGS84)
    with pytest.raises(E.InvalidInput, match="unknown category"):
        store.create_report(draft(sp, GEOTAGGED, category="Garbage"))
    with pytest.raises(E.InvalidInput, match="note"):
        store.create_report(draft(sp, GEOTAGGED, note="字" * 2001))
    with pytest.raises(E.InvalidInput, match="at least one photo"):
        store.create_report(sp.ReportDraft(category="garbage"))
    with pytest.raises(E.InvalidInput, match="at least one photo"):
        store.create_report(sp.ReportDraft(category="garbage", device_location=fix))
    with pytest.raises(E.InvalidInput, match="at most 9"):
        store.create_report(draft(sp, *[NO_GPS] * 10, device_location=fix))
    with pytest.raises(E.InvalidInput, match="latitude"):
        store.create_report(draft(sp, GEOTAGGED, device_location=sp.DeviceLocation(latitude=95.0, longitude=1.0, accuracy_m=None, crs=sp.Crs.WGS84)))
    with pytest.raises(E.InvalidInput, match="accuracy"):
        store.create_report(draft(sp, GEOTAGGED, device_location=sp.DeviceLocation(latitude=9.0, longitude=1.0, accuracy_m=-1.0, crs=sp.Crs.WGS84)))
    with pytest.raises(E.InvalidInput, match="finite"):
        store.create_report(draft(sp, GEOTAGGED, pin=sp.ManualPin(latitude=float("nan"), longitude=1.0, crs=sp.Crs.GCJ02)))
    with pytest.raises(E.InvalidInput, match="grid id"):
        store.create_report(draft(sp, GEOTAGGED, role=sp.ReporterRole.GRID_WORKER, grid_id=""))
    with pytest.raises(E.InvalidInput, match="not a report id"):
        store.get_report("not-a-uuid")
    with pytest.raises(E.NotFound):
        store.get_report(str(uuid.uuid4()))
    with pytest.raises(E.InvalidInput, match="sha256"):
        store.thumbnail_path("../../etc/passwd")
    with pytest.raises(E.NotFound):
        store.thumbnail_path("0" * 64)
    with pytest.raises(E.InvalidInput, match="http"):
        store.login("ftp://example.org", "token")
    with pytest.raises(E.InvalidInput, match="token"):
        store.login("http://127.0.0.1:9", "two words")
    assert store.report_count() == 0
    # Every variant is a SuishoupaiError, and that an Exception.
    assert issubclass(E.InvalidInput, E) and issubclass(E, Exception)


def test_list_and_get(sp, store):
    made = [store.create_report(draft(sp, name, category=cat)) for name, cat in
            [(GEOTAGGED, "garbage"), ("canon_eos600d_N_W.jpg", "steel_shed"), ("kodak_cx7530_S_E_tiny.jpg", "dry_toilet")]]
    listed = store.list_reports().reports
    assert [r.id for r in listed] == [r.id for r in reversed(made)], "newest first"
    for report in made:
        assert store.get_report(report.id) == report
    grid = store.create_report(draft(sp, GEOTAGGED, role=sp.ReporterRole.GRID_WORKER, grid_id="G-7"))
    assert (grid.role, grid.grid_id) == (sp.ReporterRole.GRID_WORKER, "G-7")
    # Another Store on the same directory (the app restarted) sees them all.
    again = sp.Store(str(store_dir(store, made[0])))
    assert again.report_count() == 4


def store_dir(store, report):
    # The data dir is two levels above a thumbnail: <dir>/thumbnails/ab/<sha>.jpg
    return pathlib.Path(store.thumbnail_path(report.photos[0].sha256)).parents[2]


def test_categories(sp, store):
    zh = store.categories(sp.Locale.ZH_CN)
    en = store.categories(sp.Locale.EN)
    assert len(zh) == len(en) == 12
    assert [c.code for c in zh] == [c.code for c in en]
    names = {c.code: (c.name, e.name) for c, e in zip(zh, en)}
    assert names["garbage"] == ("垃圾", "Rubbish")
    assert names["flying_wire_charging"] == ("飞线充电", "E-bike charging from hanging wires")
    # Every code is accepted by create_report.
    for c in zh:
        assert store.create_report(draft(sp, "kodak_cx7530_S_E_tiny.jpg", category=c.code)).category == c.code


def test_thumbnails_and_renditions(sp, store):
    report = store.create_report(draft(sp, "nokia_lumia800_N_W_fullres.jpg"))
    sha = report.photos[0].sha256
    thumb = pathlib.Path(store.thumbnail_path(sha))
    rendition = pathlib.Path(store.photo_path(sha))
    assert thumb.is_file() and rendition.is_file()
    data = store.thumbnail_bytes(sha)
    assert data == thumb.read_bytes()
    assert data[:2] == b"\xff\xd8", "a JPEG"
    assert len(data) < rendition.stat().st_size
    assert rendition.stat().st_size == report.photos[0].bytes


def test_convert_coordinates(sp):
    gcj = sp.convert_coordinates(39.915, 116.404, sp.Crs.WGS84, sp.Crs.GCJ02)
    assert (gcj.latitude, gcj.longitude) == pytest.approx((39.91640428150164, 116.41024449916938), abs=1e-9)
    bd = sp.convert_coordinates(39.915, 116.404, sp.Crs.GCJ02, sp.Crs.BD09)
    assert (bd.latitude, bd.longitude) == pytest.approx((39.92133699351022, 116.41036949371029), abs=1e-9)
    back = sp.convert_coordinates(bd.latitude, bd.longitude, sp.Crs.BD09, sp.Crs.GCJ02)
    assert (back.latitude, back.longitude) == pytest.approx((39.915, 116.404), abs=1e-9)
    london = sp.convert_coordinates(51.5074, -0.1278, sp.Crs.WGS84, sp.Crs.GCJ02)
    assert (london.latitude, london.longitude) == (51.5074, -0.1278)
    with pytest.raises(sp.SuishoupaiError.InvalidInput):
        sp.convert_coordinates(91.0, 0.0, sp.Crs.WGS84, sp.Crs.GCJ02)


def test_threads_create_reports_at_once(sp, store):
    names = [GEOTAGGED, "canon_eos600d_N_W.jpg", "samsung_sm-g930f_N_E.jpg", "nikon_coolpixp6000_N_E.jpg",
             "apple_iphone4_N_E.jpg", "kodak_cx7530_S_E_tiny.jpg", "dji_flir_N_W_below_sea_level.jpg", "png_exif_gps_N_E.png"]

    def capture(i):
        report = store.create_report(draft(sp, names[i % len(names)], note=f"thread {i}"))
        return report.id, store.get_report(report.id).note

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(capture, range(24)))
    assert len({rid for rid, _ in results}) == 24
    assert sorted(note for _, note in results) == sorted(f"thread {i}" for i in range(24))
    assert store.report_count() == 24
    assert store.pending_count() == 24
    assert len(store.list_reports().reports) == 24


def test_sync_offline_and_without_login(sp, store):
    store.create_report(draft(sp, GEOTAGGED))
    with pytest.raises(sp.SuishoupaiError.NotLoggedIn):
        store.sync()
    # A port nobody listens on: the report waits, the error says network.
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store.login(f"http://127.0.0.1:{port}", "some-token")
    with pytest.raises(sp.SuishoupaiError.Network) as caught:
        store.sync()
    assert "network" in str(caught.value)
    assert (caught.value.summary.pending, caught.value.summary.failed) == (1, 0)
    [report] = store.list_reports().reports
    assert report.sync_state == sp.SyncState.PENDING and report.sync_error
    assert store.pending_count() == 1


def test_set_online_returns_at_once(sp, store):
    store.create_report(draft(sp, GEOTAGGED))
    started = time.monotonic()
    store.set_online(True)
    store.set_online(False)
    store.set_online(True)
    assert time.monotonic() - started < 0.2
    store.set_online(False)
    assert store.pending_count() == 1


def test_list_reports_pages_with_a_cursor(sp, store):
    made = [store.create_report(draft(sp, "kodak_cx7530_S_E_tiny.jpg", note=f"r{i}", allow_without_location=True)) for i in range(5)]
    newest_first = [r.id for r in reversed(made)]
    seen, cursor = [], None
    while True:
        page = store.list_reports(limit=2, cursor=cursor)
        assert len(page.reports) <= 2
        seen += [r.id for r in page.reports]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == newest_first
    assert [r.id for r in store.list_reports().reports] == newest_first, "50 a page by default"
    for bad_limit in (0, 1001):
        with pytest.raises(sp.SuishoupaiError.InvalidInput):
            store.list_reports(limit=bad_limit)
    with pytest.raises(sp.SuishoupaiError.InvalidInput):
        store.list_reports(cursor="not-a-cursor")
    assert store.task_page(limit=10) == sp.TaskPage(tasks=[], next_cursor=None)
