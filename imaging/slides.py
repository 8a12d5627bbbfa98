"""Whole-slide uploads: which uploaded files are slides, and storing each once.

A slide (.svs, .ndpi, or a pyramidal .tif/.tiff) is never read into memory: it is checked by
opening it with OpenSlide from its temporary file, hashed and streamed to storage as it is,
as an ImageAsset of kind "slide" whose FieldOfView row is the worker's scan
(diagnostics.slide_cells). A file that does not open is refused by name; the batch goes on.
A slide of several files (a .zip of a .mrxs slide and its folder, or of DICOM instances; the
.dcm files of one upload) is unpacked into a temporary folder (imaging.slide_archives), checked
there the same way and stored part by part under one folder (imaging.slide_parts).
"""
import hashlib
import io
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath

from django.conf import settings
from django.core.files import File
from PIL import Image

from imaging.archives import is_zip_name
from imaging.fields import AUTO, SLIDES, delete_stored_bytes, save_bytes_of_new_images
from imaging.models import ImageAsset
from imaging.slide_archives import DICOM, MRXS, LooseDicomFiles, PartsRejected, \
    is_slide_archive, unpack_slide_parts
from imaging.slide_parts import PARTS_FOLDER_SUFFIX, store_parts
from imaging.thumbnails import save_thumbnail
from imaging.validation import megabytes

SLIDE_EXTENSIONS = (".svs", ".ndpi")
TIFF_EXTENSIONS = (".tif", ".tiff")
CHUNK_BYTES = 8 * 1024 * 1024
THUMBNAIL_SIDE = 512


class SlideRejected(Exception):
    """The file is not a whole slide OpenSlide can read; the message says so, by name."""


@dataclass
class SlideFacts:
    width: int
    height: int
    levels: int
    thumbnail_png: bytes


def extension(name):
    return PurePath(name).suffix.lower()


@contextmanager
def local_path(upload):
    """A path to the uploaded file's bytes: its temporary file, or a copy of a small one."""
    if hasattr(upload, "temporary_file_path"):
        yield upload.temporary_file_path()
        return
    with tempfile.NamedTemporaryFile(suffix=extension(upload.name)) as copy:
        upload.seek(0)
        for chunk in upload.chunks(CHUNK_BYTES):
            copy.write(chunk)
        copy.flush()
        upload.seek(0)  # a .tif that is no slide is read again as an image
        yield copy.name


def read_slide_facts(path, name):
    """Level-0 size, level count and a small PNG preview; SlideRejected if OpenSlide cannot."""
    from openslide import OpenSlideError

    from diagnostics.engine.whole_slide import open_slide

    try:
        with open_slide(path) as slide:
            width, height = slide.dimensions
            preview = Image.fromarray(slide.thumbnail(THUMBNAIL_SIDE))
            levels = len(slide.level_dimensions)
            # A level-0 tile: a slide whose data is missing or broken fails here, not later
            # in the worker.
            slide.read(0, width // 2, height // 2, 64, 64)
    except (ValueError, OSError, OpenSlideError) as error:
        raise SlideRejected(
            f"{name} is not a whole-slide image OpenSlide can read (.svs, .ndpi, a tiled, "
            f"pyramidal .tif, or a .zip of a .mrxs slide or of DICOM WSI files) or some of its "
            f"data is missing or broken; it was not stored. Check that the scanner's export "
            f"finished, or upload its fields of view as images. ({str(error).split(': ', 1)[-1][:200]})"
        ) from None
    buffer = io.BytesIO()
    preview.save(buffer, format="PNG")
    return SlideFacts(width, height, levels, buffer.getvalue())


def is_pyramid(path):
    try:
        return read_slide_facts(path, "").levels > 1
    except SlideRejected:
        return False


def split_slides(uploads, content):
    """(slides, other files) of an upload: .svs and .ndpi always are slides, and so are a .zip
    of a .mrxs slide or of DICOM instances, and the .dcm files of the upload, together; a .tif(f)
    is one when the uploader says so, or (deciding by itself) when it is a tiled pyramid."""
    slides, others, dicom_files = [], [], []
    for upload in uploads:
        suffix = extension(upload.name)
        if suffix in SLIDE_EXTENSIONS or suffix == MRXS or is_slide_archive(upload):
            slides.append(upload)
        elif suffix == DICOM:
            dicom_files.append(upload)
        elif suffix in TIFF_EXTENSIONS and content in (AUTO, SLIDES):
            with local_path(upload) as path:
                pyramid = content == SLIDES or is_pyramid(path)
            (slides if pyramid else others).append(upload)
        else:
            others.append(upload)
    if dicom_files:
        slides.append(LooseDicomFiles(dicom_files))
    return slides, others


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def save_slide_bytes(specimen, user, upload, known_hashes, batch):
    """Check one slide and stream it to storage; return its unsaved image, or None where
    ``batch`` notes why it is not stored."""
    if isinstance(upload, LooseDicomFiles) or is_zip_name(upload.name):
        return save_slide_of_parts(specimen, user, upload, known_hashes, batch)
    if extension(upload.name) == MRXS:
        batch.rejections.append({"file": upload.name, "reason": MRXS_ALONE})
        return None
    if refused_as_too_large(upload, batch):
        return None
    with local_path(upload) as path:
        try:
            facts = read_slide_facts(path, upload.name)
        except SlideRejected as rejection:
            batch.rejections.append({"file": upload.name, "reason": str(rejection)})
            return None
        sha256 = sha256_of(path)
        if sha256 in known_hashes:
            batch.duplicates.append(upload.name)
            return None
        image = slide_image(specimen, user, upload.name, sha256, facts, upload.size,
                            extension(upload.name).lstrip(".").upper()[:10])

        def store():
            with open(path, "rb") as source:
                image.file.save(f"{sha256}{extension(upload.name)}", File(source), save=False)

        return stored_or_rejected(image, store, facts, batch)


def refused_as_too_large(upload, batch):
    if upload.size <= settings.UPLOAD_MAX_SLIDE_BYTES:
        return False
    batch.rejections.append({"file": upload.name, "reason": (
        f"it is above the whole-slide limit of {megabytes(settings.UPLOAD_MAX_SLIDE_BYTES)}")})
    return True


def slide_image(specimen, user, name, sha256, facts, size_bytes, image_format):
    return ImageAsset(
        specimen=specimen, kind=ImageAsset.Kind.SLIDE, original_name=name[:255], sha256=sha256,
        image_format=image_format, width=facts.width, height=facts.height,
        size_bytes=size_bytes, uploaded_by=user)


def stored_or_rejected(image, store, facts, batch):
    """Run ``store`` (the slide's bytes into the image's storage) and save its preview;
    the unsaved image, or None with nothing left stored where storage failed."""
    try:
        store()
        save_thumbnail(image, facts.thumbnail_png, save=False)
    except OSError as error:
        delete_stored_bytes([image])
        batch.rejections.append({"file": image.original_name,
                                 "reason": f"it could not be stored ({error})"})
        return None
    image.video_frame = None
    return image


MRXS_ALONE = ("a .mrxs slide's pixels are in the folder of the same name beside it: zip the "
              ".mrxs file together with that folder and upload the .zip; it was not stored")
MULTI_PART_FORMATS = {MRXS: "MRXS", DICOM: "DICOM"}


def sha256_of_parts(folder):
    """One digest for a slide of several files: each part's relative path and content."""
    digest = hashlib.sha256()
    for path in sorted(path for path in Path(folder).rglob("*") if path.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(sha256_of(path).encode())
    return digest.hexdigest()


def refuse_several_dicom_series(folder):
    """OpenSlide opens the series of the instance it is given and ignores the others: the
    instances of two slides uploaded together would be stored as one."""
    from openslide import OpenSlide, OpenSlideError

    series = set()
    for path in sorted(Path(folder).glob(f"*{DICOM}")):
        try:
            with OpenSlide(str(path)) as instance:
                series.add(instance.properties.get("dicom.SeriesInstanceUID"))
        except OpenSlideError as error:
            raise PartsRejected(f"one of its .dcm files is no whole-slide image instance "
                                f"OpenSlide can read ({error}); it was not stored") from None
    if len(series) > 1:
        raise PartsRejected(f"its .dcm files are the instances of {len(series)} slides (DICOM "
                            f"series); upload each slide's files on their own. It was not "
                            f"stored")


def save_slide_of_parts(specimen, user, parts, known_hashes, batch):
    """Unpack, check and store a slide of several files (imaging.slide_archives); return its
    unsaved image, or None where ``batch`` notes why it is not stored."""
    if refused_as_too_large(parts, batch):
        return None
    with tempfile.TemporaryDirectory(prefix="celinsight-upload-") as folder:
        try:
            entry = unpack_slide_parts(parts, folder)
            facts = read_slide_facts(Path(folder) / entry, parts.name)
            if extension(entry) == DICOM:
                refuse_several_dicom_series(folder)
        except (PartsRejected, SlideRejected) as rejection:
            batch.rejections.append({"file": parts.name, "reason": str(rejection)})
            return None
        sha256 = sha256_of_parts(folder)
        if sha256 in known_hashes:
            batch.duplicates.append(parts.name)
            return None
        image = slide_image(
            specimen, user, parts.name, sha256, facts,
            sum(path.stat().st_size for path in Path(folder).rglob("*")),
            MULTI_PART_FORMATS[extension(entry)])
        return stored_or_rejected(
            image, lambda: store_parts(image, folder, entry, f"{sha256}{PARTS_FOLDER_SUFFIX}"),
            facts, batch)


def save_bytes_of_slides(specimen, user, uploads, batch):
    """Store the bytes of the good slides among ``uploads``; return their unsaved images."""
    return save_bytes_of_new_images(specimen, uploads, lambda upload, known_hashes:
                                    save_slide_bytes(specimen, user, upload, known_hashes, batch))
