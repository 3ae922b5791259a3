"""Floor plans: an uploaded image made safe to show anyone, and the markers placed on it.

A branch's floor plan is shown on its public page, in the online induction and on the staff
dashboard. Whatever an administrator uploads is read here before anything keeps it:

- the kind comes from the bytes (PNG, JPEG or SVG), never from a file name;
- at most `MAX_BYTES` (an SVG at most `MAX_SVG_BYTES`); width and height between 1 and 20,000;
- a PNG keeps its image chunks only (text, EXIF and time chunks go; nothing after IEND);
- a JPEG loses its EXIF/XMP and comment segments (a photo of a notice board can carry where and
  when it was taken) and anything after its end;
- an SVG is rebuilt from an allow-list: SVG elements and presentation attributes only. Scripts,
  `foreignObject`, `style` elements, event handlers (`on...`), external references (an `href`
  or `url()` that is not `#local`), `<!DOCTYPE>` and entities are refused or dropped, so the
  file that is kept cannot run script or fetch anything, wherever it is opened.

Markers sit at a percentage of the plan's width and height (0-100): doors (by the point map's
door id, so the staff dashboard can show each door's live state), fire exits, the help point and
PA zones (by zone id).

Pure Python, no Home Assistant import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
import re
import struct
from typing import Any
import xml.etree.ElementTree as ET

MAX_BYTES = 4 * 1024 * 1024
MAX_SVG_BYTES = 1024 * 1024
MAX_SIDE = 20_000
MAX_MARKERS = 60
LABEL_MAX = 40
REF_RE = re.compile(r"[a-z0-9_]{1,32}")

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"


class PlanError(ValueError):
    """A floor plan or marker that cannot be kept; `code` is a translation key."""

    def __init__(self, code: str, **placeholders: str) -> None:
        """Create the error (placeholders never hold the file's content)."""
        super().__init__(code)
        self.code = code
        self.placeholders = placeholders


class ImageKind(StrEnum):
    """The kinds of floor plan kept."""

    PNG = "png"
    JPEG = "jpeg"
    SVG = "svg"

    @property
    def content_type(self) -> str:
        """Return the MIME type it is served with."""
        return {"png": "image/png", "jpeg": "image/jpeg", "svg": "image/svg+xml"}[
            self.value
        ]

    @property
    def suffix(self) -> str:
        """Return the file suffix it is stored under."""
        return {"png": ".png", "jpeg": ".jpg", "svg": ".svg"}[self.value]


@dataclass(frozen=True, slots=True)
class PlanImage:
    """A floor plan made safe: its kind, the bytes to keep and its size in pixels (or units)."""

    kind: ImageKind
    data: bytes
    width: int
    height: int


def read_plan(data: bytes) -> PlanImage:
    """Return the uploaded bytes as a safe floor plan, or raise PlanError.

    Codes: `plan_too_large`, `plan_not_image` (neither PNG, JPEG nor SVG), `plan_damaged`,
    `plan_size` (width or height out of range), `plan_svg_refused` (a DOCTYPE or an entity).
    """
    if len(data) > MAX_BYTES:
        raise PlanError("plan_too_large", most=f"{MAX_BYTES // (1024 * 1024)} MB")
    if not data:
        raise PlanError("plan_not_image")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        image = _png(data)
    elif data.startswith(b"\xff\xd8\xff"):
        image = _jpeg(data)
    elif _looks_like_svg(data):
        if len(data) > MAX_SVG_BYTES:
            raise PlanError(
                "plan_too_large", most=f"{MAX_SVG_BYTES // (1024 * 1024)} MB"
            )
        image = sanitise_svg(data)
    else:
        raise PlanError("plan_not_image")
    if not (1 <= image.width <= MAX_SIDE and 1 <= image.height <= MAX_SIDE):
        raise PlanError("plan_size", most=str(MAX_SIDE))
    return image


# -- PNG ---------------------------------------------------------------------------------------

# Chunks that draw the image; everything else (tEXt, zTXt, iTXt, eXIf, tIME, private ones) goes.
_PNG_KEEP = frozenset(
    {
        b"IHDR",
        b"PLTE",
        b"IDAT",
        b"IEND",
        b"tRNS",
        b"gAMA",
        b"cHRM",
        b"sRGB",
        b"iCCP",
        b"sBIT",
        b"bKGD",
        b"pHYs",
    }
)


def _png(data: bytes) -> PlanImage:
    out = [data[:8]]
    pos = 8
    width = height = 0
    seen_end = False
    first = True
    while pos < len(data):
        if pos + 8 > len(data):
            raise PlanError("plan_damaged")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise PlanError("plan_damaged")
        if first:
            if kind != b"IHDR" or length != 13:
                raise PlanError("plan_damaged")
            width, height = struct.unpack(">II", data[pos + 8 : pos + 16])
            first = False
        if kind in _PNG_KEEP:
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            seen_end = True
            break  # nothing after the end is kept
    if first or not seen_end:
        raise PlanError("plan_damaged")
    return PlanImage(ImageKind.PNG, b"".join(out), width, height)


# -- JPEG --------------------------------------------------------------------------------------

_JPEG_DROP = frozenset(
    {0xE1, *range(0xE3, 0xEE), 0xEF, 0xFE}
)  # APP1, APP3-13, APP15, COM
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg(data: bytes) -> PlanImage:
    out = [data[:2]]
    pos = 2
    width = height = 0
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise PlanError("plan_damaged")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:
            raise PlanError("plan_damaged")  # an end before any image data
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise PlanError("plan_damaged")
        if marker in _JPEG_SOF and length >= 7:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
        if marker not in _JPEG_DROP:
            out.append(data[pos:end])
        pos = end
        if marker == 0xDA:  # start of scan: image data to the end marker
            stop = data.rfind(b"\xff\xd9")
            if stop < pos:
                raise PlanError("plan_damaged")
            out.append(data[pos : stop + 2])
            break
    if not width or not height:
        raise PlanError("plan_damaged")
    return PlanImage(ImageKind.JPEG, b"".join(out), width, height)


# -- SVG ---------------------------------------------------------------------------------------

_ELEMENTS = frozenset(
    {
        "svg",
        "g",
        "defs",
        "title",
        "desc",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "linearGradient",
        "radialGradient",
        "stop",
        "clipPath",
        "mask",
        "pattern",
        "symbol",
        "use",
        "marker",
    }
)
_ATTRIBUTES = frozenset(
    {
        "id",
        "class",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "fx",
        "fy",
        "dx",
        "dy",
        "width",
        "height",
        "d",
        "points",
        "transform",
        "viewBox",
        "preserveAspectRatio",
        "version",
        "fill",
        "fill-opacity",
        "fill-rule",
        "stroke",
        "stroke-width",
        "stroke-opacity",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-miterlimit",
        "opacity",
        "color",
        "font-family",
        "font-size",
        "font-weight",
        "font-style",
        "text-anchor",
        "dominant-baseline",
        "letter-spacing",
        "rotate",
        "textLength",
        "lengthAdjust",
        "offset",
        "stop-color",
        "stop-opacity",
        "gradientUnits",
        "gradientTransform",
        "spreadMethod",
        "clip-path",
        "clipPathUnits",
        "clip-rule",
        "mask",
        "maskUnits",
        "maskContentUnits",
        "patternUnits",
        "patternContentUnits",
        "patternTransform",
        "markerWidth",
        "markerHeight",
        "markerUnits",
        "refX",
        "refY",
        "orient",
        "marker-start",
        "marker-mid",
        "marker-end",
        "display",
        "visibility",
        "vector-effect",
        "style",
        "href",
    }
)
_STYLE_PROPERTIES = _ATTRIBUTES - {
    "id",
    "class",
    "style",
    "href",
    "d",
    "points",
    "viewBox",
    "version",
    "transform",
}
_URL = re.compile(r"url\s*\(", re.IGNORECASE)
_LOCAL_URL = re.compile(r"url\(\s*#[A-Za-z_][\w.-]*\s*\)")
_NUMBER = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*(px)?\s*")


def _looks_like_svg(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!--", b"<!doctype")) and (
        b"<svg" in data[:MAX_SVG_BYTES].lower()
    )


def _safe_value(value: str) -> bool:
    """Return True for an attribute value that references nothing outside the file."""
    without_local = _LOCAL_URL.sub("", value)
    if _URL.search(without_local) or "\\" in value:
        return False
    lowered = re.sub(r"\s", "", value).lower()
    return not any(
        s in lowered for s in ("javascript:", "data:", "expression(", "@import")
    )


def _safe_style(style: str) -> str:
    """Return the declarations of a style attribute that are presentation only, or ''."""
    kept = []
    for declaration in style.split(";"):
        name, sep, value = declaration.partition(":")
        name = name.strip().lower()
        if sep and name in _STYLE_PROPERTIES and _safe_value(value):
            kept.append(f"{name}:{value.strip()}")
    return ";".join(kept)


def _local_name(name: str) -> tuple[str, str]:
    """Return (namespace, local name) of an ElementTree tag or attribute name."""
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return namespace, local
    return "", name


def _clean(source: ET.Element) -> ET.Element | None:
    """Return an allow-listed copy of an element (None: drop it and all it holds)."""
    namespace, tag = (
        _local_name(source.tag) if isinstance(source.tag, str) else ("", "")
    )
    if namespace != SVG_NS or tag not in _ELEMENTS:
        return None
    element = ET.Element(f"{{{SVG_NS}}}{tag}")
    for name, value in source.attrib.items():
        attr_ns, attr = _local_name(name)
        if attr_ns not in ("", XLINK_NS) or attr not in _ATTRIBUTES:
            continue  # on* handlers, xml:base, foreign namespaces ...
        if attr_ns == XLINK_NS and attr != "href":
            continue
        if attr == "href":
            if not re.fullmatch(r"#[A-Za-z_][\w.-]*", value.strip()):
                continue  # only a reference inside this file
            element.set("href", value.strip())
            continue
        if attr == "style":
            value = _safe_style(value)
            if value:
                element.set("style", value)
            continue
        if _safe_value(value):
            element.set(attr, value)
    if tag == "use" and element.get("href") is None:
        return None  # it pointed outside the file
    if tag in ("text", "tspan", "title", "desc"):
        element.text = source.text
    for child in source:
        cleaned = _clean(child)
        if cleaned is not None:
            cleaned.tail = child.tail if tag in ("text", "tspan") else None
            element.append(cleaned)
    return element


def _length(value: str | None) -> float | None:
    if value is None:
        return None
    match = _NUMBER.fullmatch(value)
    return float(match.group(1)) if match else None


def sanitise_svg(data: bytes) -> PlanImage:
    """Return an SVG rebuilt from the allow-list, with its size, or raise PlanError."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PlanError("plan_damaged") from None
    lowered = text.lower()
    if "<!doctype" in lowered or "<!entity" in lowered:
        raise PlanError("plan_svg_refused")
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DOCTYPE, hence no entity, reaches it
    except ET.ParseError:
        raise PlanError("plan_damaged") from None
    if root.tag != f"{{{SVG_NS}}}svg":
        raise PlanError("plan_not_image")
    cleaned = _clean(root)
    assert cleaned is not None
    width, height = _svg_size(cleaned)
    ET.register_namespace("", SVG_NS)
    body = ET.tostring(cleaned, encoding="unicode")
    out = f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'.encode()
    return PlanImage(ImageKind.SVG, out, width, height)


def _svg_size(root: ET.Element) -> tuple[int, int]:
    """Return an SVG's size from its viewBox, else its width and height (in user units)."""
    box = (root.get("viewBox") or "").replace(",", " ").split()
    if len(box) == 4:
        try:
            width, height = float(box[2]), float(box[3])
        except ValueError:
            width = height = 0
        if width > 0 and height > 0:
            return max(1, round(width)), max(1, round(height))
    width_attr, height_attr = _length(root.get("width")), _length(root.get("height"))
    if width_attr and height_attr:
        return max(1, round(width_attr)), max(1, round(height_attr))
    raise PlanError("plan_svg_no_size")


# -- markers -----------------------------------------------------------------------------------


class MarkerKind(StrEnum):
    """What a marker on a floor plan shows."""

    DOOR = "door"
    FIRE_EXIT = "fire_exit"
    HELP_POINT = "help_point"
    PA_ZONE = "pa_zone"


MARKER_LABELS = {
    MarkerKind.DOOR: "Door",
    MarkerKind.FIRE_EXIT: "Fire exit",
    MarkerKind.HELP_POINT: "Help point (phone, first aid)",
    MarkerKind.PA_ZONE: "Announcements zone",
}


@dataclass(frozen=True, slots=True)
class Marker:
    """A place on a floor plan, at x% of its width and y% of its height."""

    kind: MarkerKind
    x: float
    y: float
    label: str = ""
    ref: str = (
        ""  # a door's id (point map) or a PA zone's id: the live state on the dashboard
    )

    def to_dict(self) -> dict[str, Any]:
        """Return the marker as JSON types."""
        return {
            "kind": self.kind.value,
            "x": self.x,
            "y": self.y,
            "label": self.label,
            "ref": self.ref,
        }

    @property
    def title(self) -> str:
        """Return what the marker is called: its label, or its kind."""
        return self.label or MARKER_LABELS[self.kind]


def parse_markers(raw: Any) -> tuple[Marker, ...]:
    """Read markers as administrators give them: a list of {kind, x, y, label?, door?/zone?}."""
    if not isinstance(raw, list | tuple) or len(raw) > MAX_MARKERS:
        raise PlanError("marker_list", most=str(MAX_MARKERS))
    markers = []
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            raise PlanError("marker_invalid", marker=str(number))
        try:
            kind = MarkerKind(str(item.get("kind", "")).strip().lower())
        except ValueError:
            raise PlanError("marker_invalid", marker=str(number)) from None
        try:
            x, y = float(item["x"]), float(item["y"])
        except KeyError, TypeError, ValueError:
            raise PlanError("marker_invalid", marker=str(number)) from None
        if not (0 <= x <= 100 and 0 <= y <= 100):
            raise PlanError("marker_invalid", marker=str(number))
        label = item.get("label", "")
        if not isinstance(label, str) or len(label) > LABEL_MAX:
            raise PlanError("marker_invalid", marker=str(number))
        if re.search(r"[\x00-\x1f\x7f]", label):
            raise PlanError("marker_invalid", marker=str(number))
        ref = str(item.get("ref") or item.get("door") or item.get("zone") or "")
        ref = ref.strip().lower()
        if ref and not REF_RE.fullmatch(ref):
            raise PlanError("marker_invalid", marker=str(number))
        if ref and kind not in (MarkerKind.DOOR, MarkerKind.PA_ZONE):
            raise PlanError("marker_invalid", marker=str(number))
        markers.append(Marker(kind, round(x, 2), round(y, 2), label.strip(), ref))
    return tuple(markers)
