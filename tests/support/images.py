"""Real image files made with Pillow for the upload tests, and files that only look like images."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

RED, BLUE, GREEN = (220, 20, 20), (20, 20, 220), (20, 200, 20)


def halves(width: int, height: int, left=RED, right=BLUE) -> Image.Image:
    image = Image.new("RGB", (width, height), left)
    image.paste(right, (width // 2, 0, width, height))
    return image


def jpeg(image: Image.Image | None = None, exif: Image.Exif | None = None, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    (image or halves(400, 200)).save(buffer, "JPEG", quality=quality, **({"exif": exif} if exif else {}))
    return buffer.getvalue()


def camera_jpeg(orientation: int = 6) -> bytes:
    """A camera's JPEG stored sideways: 400 x 200 pixels (red on the left, blue on the right) that
    its EXIF orientation says to turn a quarter clockwise (6) for display, and EXIF that must not
    leave the server: the camera's make and a GPS position."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "SecretCam"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 51.0, 29.0), "E", (2.0, 17.0, 40.0)
    return jpeg(halves(400, 200), exif)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def transparent_png() -> bytes:
    image = Image.new("RGBA", (120, 80), (0, 0, 0, 0))
    image.paste((20, 200, 20, 255), (0, 0, 60, 80))
    return png(image)


def animated_gif() -> bytes:
    buffer = io.BytesIO()
    frames = [Image.new("RGB", (40, 40), color) for color in (RED, BLUE)]
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def mpo() -> bytes:
    """A camera's MPO (a JPEG with a second picture inside): green first, red second."""
    buffer = io.BytesIO()
    first, second = Image.new("RGB", (200, 100), GREEN), Image.new("RGB", (200, 100), RED)
    first.save(buffer, "MPO", save_all=True, append_images=[second])
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels and holds no pixel data: a bomb's header."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IEND", b""))


def png_bomb() -> bytes:
    """A real, complete PNG of 13,000 x 13,000 one-bit pixels: some 20 KB, 169 megapixels decoded."""
    buffer = io.BytesIO()
    Image.new("1", (13_000, 13_000), 1).save(buffer, "PNG")
    return buffer.getvalue()


def truncated_jpeg() -> bytes:
    """A JPEG cut in the middle of its pixels: its header reads well, its pixels do not."""
    data = jpeg(halves(400, 200))
    return data[: len(data) // 3]


PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >>"
       b" endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
       b'<script>alert(document.cookie)</script><rect width="100" height="100" fill="red"/></svg>')
