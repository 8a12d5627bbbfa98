"""Whole slides stored as several files: a .mrxs file and its folder, a DICOM WSI's instances.

Every part of such a slide lies under one storage folder, ``specimens/<id>/<sha256>.slide/``,
laid out as OpenSlide expects it (``slide.mrxs`` next to ``slide/Slidedat.ini``, ...;
``instance-0000.dcm``, ... side by side), and the ImageAsset's file names the part OpenSlide
opens. A slide of one file (.svs, .ndpi, .tif) is stored as that file alone. Here: which
stored names belong to a slide, deleting them all, and a local copy OpenSlide can read.
"""
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from django.core.files import File

PARTS_FOLDER_SUFFIX = ".slide"
COPY_CHUNK_BYTES = 16 * 1024 * 1024


def parts_folder(name):
    """The storage folder holding every part of the slide stored as ``name``, or None for a
    file stored alone."""
    for parent in PurePosixPath(name).parents:
        if parent.name.endswith(PARTS_FOLDER_SUFFIX):
            return str(parent)
    return None


def store_parts(image, local_folder, entry, folder_name):
    """Store every file under ``local_folder`` in the image's storage folder ``folder_name``
    (``specimens/<id>/<folder_name>/``), as laid out there; point the image's file at
    ``entry``. On failure none is left stored (OSError)."""
    storage = image.file.storage
    folder = image.file.field.generate_filename(image, folder_name)
    stored = []
    try:
        for path in sorted(path for path in Path(local_folder).rglob("*") if path.is_file()):
            name = f"{folder}/{path.relative_to(local_folder).as_posix()}"
            with open(path, "rb") as source:
                stored.append(storage.save(name, File(source)))
            if stored[-1] != name:  # the same slide, stored at this moment by another upload
                raise OSError(f"{name} is already in storage")
    except BaseException:
        for name in stored:
            storage.delete(name)
        remove_empty_folders(storage, folder)
        raise
    image.file.name = f"{folder}/{entry}"


def stored_parts(storage, folder):
    """Every stored name under ``folder``, subfolders included (none if it is gone)."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return []
    names = [f"{folder}/{name}" for name in files]
    for subfolder in folders:
        names += stored_parts(storage, f"{folder}/{subfolder}")
    return names


def stored_names_of(storage, name):
    """The names in storage of the slide (or image) stored as ``name``: all of its parts."""
    folder = parts_folder(name)
    return stored_parts(storage, folder) if folder else [name]


def delete_slide_parts(stored_file):
    """Remove every part of a slide of several files (nothing for a file stored alone)."""
    folder = stored_file.name and parts_folder(stored_file.name)
    if not folder:
        return
    for name in stored_parts(stored_file.storage, folder):
        stored_file.storage.delete(name)
    remove_empty_folders(stored_file.storage, folder)


def remove_empty_folders(storage, folder):
    """A file storage keeps the emptied folders: remove them (object stores have none)."""
    try:
        root = Path(storage.path(folder))
    except NotImplementedError:
        return
    if root.is_dir():
        for path in sorted(root.rglob("*"), key=lambda path: -len(path.parts)) + [root]:
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()


@contextmanager
def local_slide_path(stored_file):
    """A local path OpenSlide can open for the stored slide: the file itself where the storage
    has paths, or else (S3) a copy of every part in a temporary folder, removed afterwards."""
    try:
        path = stored_file.path
    except NotImplementedError:
        path = None
    if path is not None:
        yield path
        return
    storage, name = stored_file.storage, stored_file.name
    folder = parts_folder(name)
    with tempfile.TemporaryDirectory(prefix="celinsight-slide-") as local:
        if folder is None:
            yield copy_to(storage, name, Path(local) / PurePosixPath(name).name)
            return
        for part in stored_parts(storage, folder):
            copy_to(storage, part, Path(local) / PurePosixPath(part).relative_to(folder))
        yield str(Path(local) / PurePosixPath(name).relative_to(folder))


def copy_to(storage, name, target):
    target.parent.mkdir(parents=True, exist_ok=True)
    with storage.open(name, "rb") as source, open(target, "wb") as copy:
        shutil.copyfileobj(source, copy, COPY_CHUNK_BYTES)
    return str(target)
