"""Hostile files sent through the upload page and the API: each is rejected by name with the
reason, nothing of it is stored (no row, no bytes under MEDIA_ROOT or beside it), and the
good file of the same batch is stored all the same."""
import html
import io
import os
import struct
import zipfile
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from diagnostics.models import CellResult
from imaging.models import ImageAsset, UploadBatch

FILE_LIMIT = 1024 * 1024  # 1.0 MB, so the bombs stay a few kB on disk
ARCHIVE_LIMIT = 3 * FILE_LIMIT


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.UPLOAD_MAX_FILE_BYTES = FILE_LIMIT
    settings.UPLOAD_MAX_ZIP_BYTES = ARCHIVE_LIMIT


def zip_file(name, members, compression=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for member_name, data in members:
            archive.writestr(member_name, data)
    return buffer.getvalue()


def zip_with_lying_header(name):
    """A member whose headers declare 1 kB but which unpacks to 5 MB."""
    data = bytearray(zip_file(name, [("bomb.png", bytes(5 * FILE_LIMIT))]))
    struct.pack_into("<I", data, data.find(b"PK\x03\x04") + 22, 1000)
    struct.pack_into("<I", data, data.find(b"PK\x01\x02") + 24, 1000)
    return bytes(data)


def zip_with_corrupt_member(name):
    data = bytearray(zip_file(name, [("cell.png", os.urandom(500) + bytes(5000))]))
    header = data.find(b"PK\x03\x04")
    start = header + 30 + struct.unpack_from("<H", data, header + 26)[0]
    for index in range(start, start + 40):
        data[index] ^= 0x5A
    return bytes(data)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def crafted_png(width, height, extra_chunks=b""):
    """A PNG header declaring width x height pixels, with next to no pixel data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + extra_chunks
            + png_chunk(b"IDAT", zlib.compress(b"")) + png_chunk(b"IEND", b""))


def text_chunk_bomb():
    """A 4x4 PNG whose compressed comment unpacks to 20 MB."""
    comment = b"Comment\0\0" + zlib.compress(b"a" * 20_000_000)
    return crafted_png(4, 4, png_chunk(b"zTXt", comment))


def cell(sample_cell_paths, index):
    return sample_cell_paths[index].read_bytes()


# (name uploaded, its bytes from the sample cells, name rejected, reason given)
HOSTILE = {
    "zip bomb member": lambda cells: (
        "bomb.zip", zip_file("bomb.zip", [("bomb.png", bytes(FILE_LIMIT + 1))]),
        "bomb.zip/bomb.png", "the file is 1.0 MB, above the per-file limit of 1.0 MB"),
    "zip bomb with a lying header": lambda cells: (
        "liar.zip", zip_with_lying_header("liar.zip"),
        "liar.zip/bomb.png", "it could not be unpacked (Bad CRC-32 for file 'bomb.png')"),
    "zip bomb of many members": lambda cells: (
        "many.zip", zip_file("many.zip", [(f"part{n}.png", bytes(FILE_LIMIT)) for n in range(4)]),
        "many.zip/part3.png", "the archive unpacks to more than 3.0 MB; this file and the rest"),
    "corrupt zip member": lambda cells: (
        "corrupt.zip", zip_with_corrupt_member("corrupt.zip"),
        "corrupt.zip/cell.png", "it could not be unpacked (Error -3 while decompressing data"),
    "member climbing out of the archive": lambda cells: (
        "climb.zip", zip_file("climb.zip", [("../../etc/evil.png", cells(1))]),
        "climb.zip/../../etc/evil.png", "its path in the archive is absolute or climbs out"),
    "member with an absolute path": lambda cells: (
        "absolute.zip", zip_file("absolute.zip", [("/tmp/x.png", cells(2))]),
        "absolute.zip//tmp/x.png", "its path in the archive is absolute or climbs out"),
    "member with a Windows drive": lambda cells: (
        "drive.zip", zip_file("drive.zip", [("C:\\Windows\\evil.png", cells(3))]),
        "drive.zip/C:\\Windows\\evil.png", "its path in the archive is absolute or climbs out"),
    "decompression bomb image": lambda cells: (
        "bomb.png", crafted_png(100_000, 100_000),
        "bomb.png", "it has too many pixels to be decoded safely"),
    "text chunk bomb image": lambda cells: (
        "comment.png", text_chunk_bomb(),
        "comment.png", "it is damaged or unsafe to open (Decompressed data too large"),
    "zero-byte file": lambda cells: ("empty.png", b"", "empty.png", "the file is empty"),
    "executable": lambda cells: (
        "setup.exe", b"MZ\x90\x00" + os.urandom(2000), "setup.exe", "not an image Pillow can read"),
    "text file": lambda cells: (
        "notes.txt", b"results to follow", "notes.txt", "not an image Pillow can read"),
    "text renamed .png": lambda cells: (
        "cell.png", b"not really a PNG", "cell.png", "not an image Pillow can read"),
    "image renamed .exe": lambda cells: (
        "cell.exe", cells(4), "cell.exe",
        "it is a PNG image but its name ends in .exe; rename it to end in .png"),
    "image renamed .html": lambda cells: (
        "cell.html", cells(5), "cell.html",
        "it is a PNG image but its name ends in .html; rename it to end in .png"),
}


def upload_page(user, client, specimen, files):
    client.force_login(user)
    response = client.post(reverse("imaging:upload", args=[specimen.pk]), {"files": files},
                           follow=True)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def upload_api(user, client, specimen, files):
    token, _ = Token.objects.get_or_create(user=user)
    api = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api.post(reverse("api:specimen_images", args=[specimen.pk]), {"files": files},
                        format="multipart")
    assert response.status_code == 201, response.content
    return "\n".join(f"{row['file']}: {row['reason']}" for row in response.json()["files"])


UPLOAD_THROUGH = {"page": upload_page, "api": upload_api}


def files_under(folder):
    return sorted(path.name for path in folder.rglob("*") if path.is_file())


@pytest.mark.parametrize("channel", UPLOAD_THROUGH)
@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_file_is_rejected_and_the_good_one_stored(
        case, channel, client, lab_staff, specimen, sample_cell_paths, tmp_path):
    name, data, rejected_name, reason = HOSTILE[case](lambda i: cell(sample_cell_paths, i))
    good = SimpleUploadedFile("good.png", cell(sample_cell_paths, 0), content_type="image/png")
    hostile = SimpleUploadedFile(name, data, content_type="application/octet-stream")

    shown = UPLOAD_THROUGH[channel](lab_staff, client, specimen, [hostile, good])

    assert rejected_name in shown and reason in shown
    reasons = {row["file"]: row["reason"] for row in UploadBatch.objects.get().rejections}
    assert reason in reasons[rejected_name]
    assert list(ImageAsset.objects.values_list("original_name", flat=True)) == ["good.png"]
    assert CellResult.objects.get().image.original_name == "good.png"
    # The good image and its thumbnail; nothing beside MEDIA_ROOT either.
    assert [name.rsplit(".", 1)[1] for name in files_under(tmp_path)] == ["png", "webp"]


@pytest.mark.parametrize("channel", UPLOAD_THROUGH)
def test_a_png_named_jpg_is_stored_and_served_as_the_png_it_is(
        channel, client, lab_staff, doctor, specimen, sample_cell_paths):
    renamed = SimpleUploadedFile("cell.jpg", cell(sample_cell_paths, 6), content_type="image/jpeg")
    UPLOAD_THROUGH[channel](lab_staff, client, specimen, [renamed])
    image = ImageAsset.objects.get()
    assert (image.original_name, image.image_format) == ("cell.jpg", "PNG")
    client.force_login(doctor)
    response = client.get(reverse("imaging:image_file", args=[image.pk]))
    assert response["Content-Type"] == "image/png"


@pytest.mark.parametrize("channel", UPLOAD_THROUGH)
def test_a_climbing_member_is_rejected_and_its_neighbours_in_the_archive_stored(
        channel, client, lab_staff, specimen, sample_cell_paths, media_in_tmp):
    archive = zip_file("mixed.zip", [("../../evil.png", cell(sample_cell_paths, 1)),
                                     ("folder/fine.png", cell(sample_cell_paths, 2))])
    upload = SimpleUploadedFile("mixed.zip", archive, content_type="application/zip")
    UPLOAD_THROUGH[channel](lab_staff, client, specimen, [upload])
    image = ImageAsset.objects.get()
    assert image.original_name == "mixed.zip/fine.png"
    assert image.file.path.startswith(str(media_in_tmp / "specimens" / str(specimen.pk)))
    assert UploadBatch.objects.get().rejections[0]["file"] == "mixed.zip/../../evil.png"
