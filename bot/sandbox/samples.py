"""Sample files for simulated users (tests and the offline demo): real, tiny images."""

from __future__ import annotations

import logging
import struct
import zlib

logger = logging.getLogger(__name__)


def png(width: int = 640, height: int = 480, rgb: tuple[int, int, int] = (0, 0, 0)) -> bytes:
    """A valid single-colour PNG of the given size (a few hundred bytes when compressed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + bytes(rgb) * width  # filter byte 0, then the pixels
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )
