"""The encrypted store and the recovery of a damaged one, through the
generated Python bindings, as an app developer calls them."""

import os
import pathlib

import pytest

from conftest import photo

NOTE = "楼道堆放杂物 note-c41d"


def every_file(data_dir):
    return [p for p in pathlib.Path(data_dir).rglob("*") if p.is_file()]


def test_an_encrypted_store_shows_nothing_and_opens_only_with_its_key(sp, data_dir, server):
    key = os.urandom(32)
    store = sp.Store.open_encrypted(str(data_dir), key)
    report = store.create_report(sp.ReportDraft(category="garbage", photo_paths=[photo("google_pixel_N_E.jpg")], note=NOTE))
    sha = report.photos[0].sha256
    thumbnail = store.thumbnail_bytes(sha)
    rendition = store.photo_bytes(sha)
    assert thumbnail[:2] == b"\xff\xd8" and rendition[:2] == b"\xff\xd8"
    for f in every_file(data_dir):
        content = f.read_bytes()
        assert NOTE.encode() not in content, f
        assert rendition[:64] not in content and thumbnail[:64] not in content, f
    with pytest.raises(sp.SuishoupaiError.InvalidInput):
        store.photo_path(sha)

    # Synced, the server holds the plain rendition.
    token = server.add_user("zhou", "resident")
    store.login(server.url, token)
    assert store.sync().pushed == 1
    status, body = server.api(token, "GET", f"/v1/reports/{report.id}")
    assert status == 200 and body["note"] == NOTE
    del store

    with pytest.raises(sp.SuishoupaiError.WrongKey):
        sp.Store.open_encrypted(str(data_dir), os.urandom(32))
    with pytest.raises(sp.SuishoupaiError.EncryptionMismatch):
        sp.Store(str(data_dir))
    with pytest.raises(sp.SuishoupaiError.InvalidInput):
        sp.Store.open_encrypted(str(data_dir), b"short")
    again = sp.Store.open_encrypted(str(data_dir), key)
    assert [r.note for r in again.list_reports().reports] == [NOTE]


def test_a_plain_store_is_never_opened_with_a_key(sp, data_dir):
    sp.Store(str(data_dir))
    with pytest.raises(sp.SuishoupaiError.EncryptionMismatch):
        sp.Store.open_encrypted(str(data_dir), os.urandom(32))


def test_a_damaged_store_is_corrupt_store_and_recovers(sp, data_dir):
    store = sp.Store(str(data_dir))
    store.create_report(sp.ReportDraft(category="garbage", photo_paths=[photo("google_pixel_N_E.jpg")], note=NOTE))
    del store
    database = pathlib.Path(data_dir) / "store.sqlite3"
    with open(database, "r+b") as f:
        f.write(b"\xa5" * 4096)
    with pytest.raises(sp.SuishoupaiError.CorruptStore):
        sp.Store(str(data_dir))
    recovery = sp.recover_store(str(data_dir))
    assert pathlib.Path(recovery.damaged_copy).exists()
    assert recovery.rows_lost and recovery.reports_kept == 0
    assert sp.Store(str(data_dir)).report_count() == 0
