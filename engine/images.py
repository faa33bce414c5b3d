"""The pictures pages place -> their published files: resized WebP and JPEG or PNG, a share image, hashed names.

Only pictures some page places (`::: picture ID`) are read and published. A raster picture is
resized with Pillow to each of WIDTHS no wider than itself, in WebP and in JPEG (PNG when it has
transparency) for browsers without WebP, plus a 1200x630 JPEG for link previews; an SVG is
published as it is. The resized files are kept in `.cache/pictures/`, keyed by the picture's bytes
and the sizes and settings that made them. Refuses files outside content/, missing or unreadable
files and files that are not pictures, each as a problem on the picture's line of pictures.yaml.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .cache import Cache, stable_digest
from .content import Page
from .data import PICTURES_FILE, Picture
from .errors import Problem
from .records import OutputFile
from .sourcefiles import read_source_bytes

WIDTHS = (480, 960, 1440)  # px: what `srcset` offers; the text column is 36rem, 2x screens take the larger
SHARE_SIZE = (1200, 630)  # the size link previews (Open Graph, Twitter cards) show
QUALITY = {"webp": 80, "jpeg": 82}
RASTER = (".jpg", ".jpeg", ".png", ".webp")
FOLDER = "assets/pictures"


@dataclass(frozen=True)
class Rendition:
    """One published file of a picture: its address from the site's root, its size in px."""

    path: str
    width: int
    height: int


@dataclass(frozen=True)
class PictureSet:
    """A picture as pages show it: its words, its size, and its files (no WebP for an SVG)."""

    picture: Picture
    width: int  # of the largest rendition: the <img>'s width and height, so the page keeps its room
    height: int
    fallback_type: str  # image/jpeg, image/png or image/svg+xml
    fallback: tuple[Rendition, ...]
    webp: tuple[Rendition, ...] = ()
    share: Rendition | None = None


@dataclass
class PreparedPictures:
    """The pictures pages place, their files, the cache keys this build used, and the problems."""

    sets: dict[str, PictureSet] = field(default_factory=dict)
    files: list[OutputFile] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def placed_pictures(pages: Iterable[Page]) -> tuple[list[str], set[str]]:
    """The ids of the pictures the pages place, each once, in order of first use, and the pages' leads."""
    pages = list(pages)
    return (list(dict.fromkeys(picture_id for page in pages for picture_id in page.pictures)),
            {page.pictures[0] for page in pages if page.pictures})


def prepare_pictures(root: Path, pictures: dict[str, Picture], used: Iterable[str], leads: set[str],
                     cache: Cache) -> PreparedPictures:
    """Read and resize every used picture that pictures.yaml names (unknown ids are the directive's to report);
    `leads` are those that are some page's first picture, whose share images are published."""
    prepared = PreparedPictures()
    content = (root / "content").resolve()
    for picture_id in used:
        picture = pictures.get(picture_id)
        if picture is None:
            continue
        problems: list[Problem] = []
        file = (content / picture.file).resolve()
        suffix = file.suffix.lower()
        if not file.is_relative_to(content):
            problems.append(Problem(PICTURES_FILE, picture.line, f"'{picture.file}' is outside content/",
                                    "put pictures in content/images/ or beside the page that shows them"))
        elif suffix not in RASTER + (".svg",):
            problems.append(Problem(PICTURES_FILE, picture.line, f"'{picture.file}' is not a JPEG, PNG, WebP or SVG picture"))
        elif not file.is_file():
            problems.append(Problem(PICTURES_FILE, picture.line, f"there is no content/{picture.file}",
                                    "put pictures in content/images/ or beside the page that shows them"))
        raw = read_source_bytes(file, root, f"content/{picture.file}", problems) if not problems else None
        if raw is None:
            prepared.problems += problems
            continue
        key = stable_digest(hashlib.sha256(raw).hexdigest(), suffix, WIDTHS, SHARE_SIZE, QUALITY)
        made = cache.get("pictures", key)
        if not isinstance(made, tuple):
            made = _svg(raw) if suffix == ".svg" else _resize(raw)
            if isinstance(made, str):
                prepared.problems.append(Problem(PICTURES_FILE, picture.line, f"cannot read content/{picture.file}: {made}"))
                continue
            cache.put("pictures", key, made)
        prepared.keys.append(key)
        prepared.sets[picture_id] = _publish(picture, made, prepared.files, picture_id in leads)
    return prepared


# What _resize and _svg make, as the cache keeps it: (fallback type, (kind, width, height, extension, bytes), ...)
Made = tuple[str, tuple[tuple[str, int, int, str, bytes], ...]]


def _publish(picture: Picture, made: Made, files: list[OutputFile], is_lead: bool) -> PictureSet:
    fallback_type, renditions = made
    stem = Path(picture.file).stem.lower()
    stem = re.sub(r"[^a-z0-9]+", "-", stem).strip("-") or "picture"
    kinds: dict[str, list[Rendition]] = {"webp": [], "fallback": [], "share": []}
    for kind, width, height, extension, data in renditions:
        if kind == "share" and not is_lead:
            continue
        path = f"{FOLDER}/{stem}-{width}.{hashlib.sha256(data).hexdigest()[:10]}.{extension}"
        files.append(OutputFile(path, data, frozenset({f"content/{picture.file}", PICTURES_FILE})))
        kinds[kind].append(Rendition(path, width, height))
    largest = kinds["fallback"][-1]
    return PictureSet(picture, largest.width, largest.height, fallback_type, tuple(kinds["fallback"]),
                      tuple(kinds["webp"]), kinds["share"][0] if kinds["share"] else None)


def _resize(raw: bytes) -> Made | str:
    """Every rendition of a raster picture, or why it cannot be read."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(raw)) as opened:
            image = ImageOps.exif_transpose(opened)  # turned as the camera was held; the EXIF itself is dropped
            image.load()
    except UnidentifiedImageError:
        return "it is not a JPEG, PNG or WebP picture"
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        return str(error) or "it is not a picture"
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    image = image.convert("RGBA" if has_alpha else "RGB")
    fallback = ("png", "PNG") if has_alpha else ("jpg", "JPEG")
    renditions = []
    for width in sorted({min(width, image.width) for width in WIDTHS}):
        height = max(1, round(image.height * width / image.width))
        resized = image if width == image.width else image.resize((width, height), Image.Resampling.LANCZOS)
        renditions.append(("webp", width, height, "webp", _encode(resized, "WEBP")))
        renditions.append(("fallback", width, height, fallback[0], _encode(resized, fallback[1])))
    share = ImageOps.fit(image.convert("RGB"), SHARE_SIZE, Image.Resampling.LANCZOS)
    renditions.append(("share", *SHARE_SIZE, "jpg", _encode(share, "JPEG")))
    return f"image/{'png' if has_alpha else 'jpeg'}", tuple(renditions)


def _encode(image: object, kind: str) -> bytes:
    buffer = io.BytesIO()
    settings: dict[str, dict[str, object]] = {"WEBP": {"quality": QUALITY["webp"], "method": 6},
                                              "JPEG": {"quality": QUALITY["jpeg"], "optimize": True, "progressive": True},
                                              "PNG": {"optimize": True}}
    options = settings[kind]
    image.save(buffer, kind, **options)  # type: ignore[attr-defined]
    return buffer.getvalue()


_SVG_TAG = re.compile(rb"<svg\b[^>]*>", re.S)
_NUMBER = rb"\s*=\s*[\"']\s*([0-9.]+)(?:px)?\s*[\"']"


def _svg(raw: bytes) -> Made | str:
    """An SVG as it is, with the size its width and height (or else its viewBox) give."""
    tag = _SVG_TAG.search(raw)
    if tag is None:
        return "no <svg> element"
    width = re.search(rb"\swidth" + _NUMBER, tag.group(0))
    height = re.search(rb"\sheight" + _NUMBER, tag.group(0))
    box = re.search(rb"viewBox\s*=\s*[\"']\s*[-0-9.]+[\s,]+[-0-9.]+[\s,]+([0-9.]+)[\s,]+([0-9.]+)\s*[\"']", tag.group(0))
    size = (width.group(1), height.group(1)) if width and height else box.groups() if box else None
    if size is None:
        return "the <svg> element has neither width and height nor a viewBox"
    w, h = (round(float(value)) for value in size)
    return "image/svg+xml", (("fallback", w, h, "svg", raw),)
