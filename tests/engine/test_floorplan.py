"""Floor plans made safe: the kind from the bytes, metadata gone, SVG rebuilt from an allow-list."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
import zlib

import pytest

from custom_components.smart_library.engine.building.floorplan import (
    MAX_BYTES,
    ImageKind,
    Marker,
    MarkerKind,
    PlanError,
    parse_markers,
    read_plan,
    sanitise_svg,
)


def png(
    width: int = 4, height: int = 3, *, extra: bytes = b"", text: bool = True
) -> bytes:
    """Return a small valid PNG, with a tEXt chunk holding where it was made."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + (chunk(b"tEXt", b"Comment\x00taken at 52.6N 1.1W") if text else b"")
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
        + extra
    )


def jpeg(width: int = 640, height: int = 480) -> bytes:
    """Return a JPEG's structure: JFIF, EXIF with a position, a comment, SOF0, scan, end."""

    def segment(marker: int, data: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(data) + 2) + data

    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xE1, b"Exif\x00\x00GPS 52.6N 1.1W")
        + segment(0xFE, b"<script>alert(1)</script>")
        + segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x12\x34\x56"
        + b"\xff\xd9"
        + b"<html><script>alert(1)</script></html>"
    )


def test_png_keeps_its_image_and_loses_text_and_trailers() -> None:
    """Kind from the bytes; tEXt and anything after IEND dropped; size read from IHDR."""
    image = read_plan(png(extra=b"<script>alert(1)</script>"))
    assert (image.kind, image.width, image.height) == (ImageKind.PNG, 4, 3)
    assert b"tEXt" not in image.data and b"52.6N" not in image.data
    assert image.data.endswith(b"IEND\xaeB`\x82")
    assert read_plan(image.data).data == image.data  # stable


def test_jpeg_loses_exif_comments_and_trailers() -> None:
    """EXIF (where and when a photo was taken), comments and a trailing page go."""
    image = read_plan(jpeg())
    assert (image.kind, image.width, image.height) == (ImageKind.JPEG, 640, 480)
    assert b"GPS" not in image.data and b"script" not in image.data
    assert b"JFIF" in image.data and image.data.endswith(b"\xff\xd9")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "plan_not_image"),
        (b"GIF89a....", "plan_not_image"),
        (b"<html><script>alert(1)</script></html>", "plan_not_image"),
        (b"%PDF-1.7", "plan_not_image"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "plan_damaged"),
        (png()[:-12], "plan_damaged"),  # no IEND
        (b"\xff\xd8\xff\xe0\x00", "plan_damaged"),
        (png(0, 3), "plan_size"),
        (png(30_000, 3), "plan_size"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_BYTES, "plan_too_large"),
    ],
)
def test_what_is_not_a_floor_plan_is_refused(data: bytes, code: str) -> None:
    """Not an image, a damaged one, an absurd size, too many bytes: refused with a reason."""
    with pytest.raises(PlanError) as err:
        read_plan(data)
    assert err.value.code == code


SVG = "http://www.w3.org/2000/svg"
EVIL_SVG = b"""<?xml version="1.0"?>
<?xml-stylesheet href="https://evil.example/x.css"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     viewBox="0 0 800 600" onload="alert(1)">
  <script>alert(1)</script>
  <script xlink:href="https://evil.example/x.js"/>
  <style>@import url(https://evil.example/x.css); rect { fill: red }</style>
  <title>Oadby &lt;ground floor&gt;</title>
  <defs><linearGradient id="g"><stop offset="0" stop-color="#fff"/></linearGradient></defs>
  <rect x="0" y="0" width="800" height="600" fill="url(#g)" onclick="alert(2)"
        style="fill: url(https://evil.example/p.png); stroke: #000"/>
  <rect width="10" height="10" fill="url(https://evil.example/track)"/>
  <a href="javascript:alert(3)"><text x="10" y="20">Exit</text></a>
  <text x="10" y="40">Fire exit <tspan font-weight="bold">A</tspan> here</text>
  <image href="https://evil.example/track.png" width="1" height="1"/>
  <image href="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=" width="1" height="1"/>
  <use href="https://evil.example/sprite.svg#x"/>
  <use xlink:href="#g"/>
  <foreignObject><div xmlns="http://www.w3.org/1999/xhtml"><script>alert(4)</script></div></foreignObject>
  <animate attributeName="href" to="javascript:alert(5)"/>
  <set attributeName="onmouseover" to="alert(6)"/>
  <iframe xmlns="http://www.w3.org/1999/xhtml" src="javascript:alert(7)"/>
  <circle cx="5" cy="5" r="2" xml:base="https://evil.example/"/>
</svg>"""


def test_svg_is_rebuilt_without_script_or_outside_references() -> None:
    """Nothing that runs script or fetches from outside survives; the drawing does."""
    image = sanitise_svg(EVIL_SVG)
    assert (image.kind, image.width, image.height) == (ImageKind.SVG, 800, 600)
    text = image.data.decode()
    for bad in (
        "script",
        "onload",
        "onclick",
        "evil.example",
        "javascript",
        "data:",
        "@import",
        "foreignObject",
        "iframe",
        "animate",
        "<set",
        "<image",
        "<style",
        "xml-stylesheet",
        "xml:base",
    ):
        assert bad not in text, bad
    root = ET.fromstring(image.data)  # noqa: S314 - our own output
    tags = [el.tag.split("}")[1] for el in root.iter()]
    assert tags.count("rect") == 2 and "linearGradient" in tags
    assert 'fill="url(#g)"' in text and "stroke:#000" in text  # local references kept
    assert "Oadby &lt;ground floor&gt;" in text  # text stays text
    assert "Fire exit" in text and ">A</tspan> here" in text
    assert text.count("<use") == 1 and 'href="#g"' in text


@pytest.mark.parametrize(
    "doc",
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><text>&b;</text></svg>'
        ),
        (
            b'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><text>&x;</text></svg>'
        ),
    ],
)
def test_svg_entities_are_refused(doc: bytes) -> None:
    """A DOCTYPE (entity expansion, external entities) is refused outright."""
    with pytest.raises(PlanError) as err:
        read_plan(doc)
    assert err.value.code == "plan_svg_refused"


def test_svg_needs_a_size_and_to_be_svg() -> None:
    """No viewBox and no width/height: refused (markers are placed by percentage of it)."""
    with pytest.raises(PlanError) as err:
        read_plan(b'<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>')
    assert err.value.code == "plan_svg_no_size"
    sized = read_plan(
        b'<svg xmlns="http://www.w3.org/2000/svg" width="300px" height="200"><rect/></svg>'
    )
    assert (sized.width, sized.height) == (300, 200)
    with pytest.raises(PlanError):
        read_plan(b"<svg><rect/></svg>")  # not in the SVG namespace
    with pytest.raises(PlanError):
        read_plan(
            b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect></svg>'
        )


def test_markers() -> None:
    """Doors and PA zones by id, fire exits, the help point; percentages; labels are short."""
    markers = parse_markers(
        [
            {"kind": "door", "x": 10, "y": 95.5, "door": "entrance"},
            {"kind": "fire_exit", "x": 90, "y": 50, "label": "Fire exit B"},
            {"kind": "help_point", "x": "40", "y": "60"},
            {"kind": "pa_zone", "x": 50, "y": 50, "zone": "main"},
        ]
    )
    assert markers[0] == Marker(MarkerKind.DOOR, 10, 95.5, "", "entrance")
    assert markers[1].title == "Fire exit B" and markers[2].title.startswith(
        "Help point"
    )
    for bad in (
        [{"kind": "window", "x": 1, "y": 1}],
        [{"kind": "door", "x": 101, "y": 1}],
        [{"kind": "door", "x": "nan", "y": 1}],
        [{"kind": "door", "x": 1}],
        [{"kind": "door", "x": 1, "y": 1, "door": "../../etc"}],
        [{"kind": "fire_exit", "x": 1, "y": 1, "door": "entrance"}],
        [{"kind": "door", "x": 1, "y": 1, "label": "x" * 41}],
        [{"kind": "door", "x": 1, "y": 1, "label": "a\nb"}],
        [{"kind": "door", "x": 1, "y": 1}] * 61,
        "door",
    ):
        with pytest.raises(PlanError):
            parse_markers(bad)
