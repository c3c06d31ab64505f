"""Thumbnails of hashed photos: small, never raising on hostile bytes, stored and read
back on SQLite and PostgreSQL, and added to an older database by its migration (v6)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image
from sqlalchemy import inspect, text

from watcher.demo import images
from watcher.images import make_thumbnail
from watcher.store import Store
from watcher.store.db import SCHEMA_VERSION, current_version
from watcher.store.images import url_key
from watcher.thumbnail import SIDE


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares a size and carries one tiny, valid IDAT (a bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def test_a_product_photo_becomes_a_small_webp() -> None:
    photo = images.render("p4242")
    assert len(photo) > 20_000
    t = make_thumbnail(photo)
    assert t is not None
    assert t.content_type == "image/webp"
    assert max(t.width, t.height) == SIDE
    assert len(t.data) < 12_000
    with Image.open(io.BytesIO(t.data)) as im:
        assert im.format == "WEBP" and im.size == (t.width, t.height)


def test_transparent_and_small_images() -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (300, 150), (255, 0, 0, 0)).save(buf, "PNG")
    t = make_thumbnail(buf.getvalue())
    assert t is not None and (t.width, t.height) == (240, 120)
    with Image.open(io.BytesIO(t.data)) as im:
        # a cut-out is flattened on white, like the hash sees it
        assert im.convert("RGB").getpixel((10, 10)) == (255, 255, 255)
    buf = io.BytesIO()
    Image.new("RGB", (100, 60), "blue").save(buf, "JPEG")
    small = make_thumbnail(buf.getvalue())
    assert small is not None and (small.width, small.height) == (100, 60)  # never enlarged


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        images.render("p7")[:2000],  # truncated JPEG
        _png_header(100_000, 100_000),  # declares 10 gigapixels
        _png_header(8, 8),  # a tracking pixel
    ],
    ids=["empty", "garbage", "truncated", "bomb", "tiny"],
)
def test_hostile_bytes_give_no_thumbnail(data: bytes) -> None:
    assert make_thumbnail(data) is None


def test_thumbnails_are_stored_and_replaced(db_url: str) -> None:
    store = Store(db_url)
    try:
        first = make_thumbnail(images.render("p1"))
        second = make_thumbnail(images.render("p2"))
        assert first is not None and second is not None
        url = "https://rival.example/cdn/p1.jpg"
        store.thumbnails.save([(url, first)])
        key = url_key(url)
        assert store.thumbnails.get(key) == first
        store.thumbnails.save([(url, second)])
        assert store.thumbnails.get(key) == second
        assert store.thumbnails.get("0" * 40) is None
        found = store.thumbnails.keys_for([url, "https://other.example/x.jpg", ""])
        assert found == {url: key}
    finally:
        store.close()


def test_a_version_5_database_gains_the_thumbnail_table(db_url: str) -> None:
    store = Store(db_url)
    with store.engine.begin() as c:
        c.execute(text("DROP TABLE thumbnail"))
        c.execute(text("UPDATE meta SET value = '5' WHERE key = 'schema_version'"))
    store.close()
    store = Store(db_url)
    try:
        with store.engine.connect() as c:
            assert current_version(c) == SCHEMA_VERSION >= 6
            assert inspect(c).has_table("thumbnail")
        t = make_thumbnail(images.render("p3"))
        assert t is not None
        store.thumbnails.save([("https://x.example/p3.jpg", t)])
    finally:
        store.close()
