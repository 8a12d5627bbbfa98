"""What is stored of an uploaded image: the bytes a decoder reads, and nothing after them.

A valid PNG with a .zip (or HTML, or a script) appended decodes as a PNG, and was stored and
served back byte for byte: a polyglot that other tools open as something else. So:

- PNG: cut after the IEND chunk; JPEG: cut after the end-of-image marker of the image
  itself. The pixels and the bytes a decoder reads are unchanged, so a clean file is
  stored as it came (same sha256 as before) and nothing is re-compressed. JPEG is not
  re-encoded because that is lossy (it would blur the cells the model and doctors read);
  trailing data is stripped rather than refused because cameras and scanner software do
  append trailers, and refusing a good image for them would only send users to work-arounds.
- BMP and TIFF: their headers point anywhere in the file, so bytes can hide between the
  parts a decoder reads as well as after them. They are re-encoded losslessly as PNG.
"""
import io
import struct

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Pillow modes PNG holds without changing a pixel value.
PNG_LOSSLESS_MODES = {"1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I;16B"}
# JPEG markers with no length field after them: start of image, restarts, TEM.
STANDALONE_MARKERS = {0xD8, 0x01, *range(0xD0, 0xD8)}
EOI, SOS = 0xD9, 0xDA


class NotStorable(ValueError):
    """The image decodes but cannot be stored without changing it; the message says why."""


def png_end(data):
    """Offset just after the IEND chunk, or len(data) if the chunks do not say (Pillow
    decoded the image, so its chunks are sound)."""
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        offset += 12 + length  # length, type, data, CRC
        if kind == b"IEND":
            return min(offset, len(data))
    return len(data)


def jpeg_end(data):
    """Offset just after the image's end-of-image marker (a thumbnail's EOI sits inside an
    APP segment and is skipped with it), or len(data) if none is found."""
    offset = 2  # after SOI
    while offset + 1 < len(data):
        if data[offset] != 0xFF:
            offset += 1  # fill or entropy-coded bytes
            continue
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte before a marker
            offset += 1
        elif marker == EOI:
            return offset + 2
        elif marker == 0x00 or marker in STANDALONE_MARKERS:
            offset += 2  # stuffed 0xFF in scan data, or a marker without a length
        else:
            length = struct.unpack(">H", data[offset + 2:offset + 4])[0] if offset + 4 <= len(data) else 0
            offset += 2 + length
            if marker == SOS:  # the scan's entropy-coded data follows; walk it byte by byte
                continue
    return len(data)


def as_png(image):
    if image.mode not in PNG_LOSSLESS_MODES:
        raise NotStorable(
            f"it is a {image.format} image in {image.mode} mode, which CelInsight cannot store "
            f"without changing its pixels; save it as PNG (or 8-bit RGB TIFF) and upload it again")
    buffer = io.BytesIO()
    # Level 1: a 40 MP BMP slide is encoded in about a second, not several; still far smaller.
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def bytes_to_store(image, data):
    """(format, bytes) to store for a fully decoded Pillow image read from ``data``."""
    if image.format == "PNG":
        return "PNG", data[:png_end(data)]
    if image.format == "JPEG":
        return "JPEG", data[:jpeg_end(data)]
    return "PNG", as_png(image)
