"""Whole slides uploaded as several files: a .zip of a .mrxs slide with its folder, or of a
DICOM WSI's .dcm instances, or a DICOM WSI's .dcm files chosen together from their folder.

Each is unpacked into a local folder under canonical names (``slide.mrxs`` and
``slide/<data file>``; ``instance-0000.dcm``, ...), so no uploaded name becomes a path, and
checked there before OpenSlide opens it (imaging.slides). The limits of imaging.archives apply
in kind: no member may climb out of the archive, none may be encrypted, and the parts together
may unpack to no more than UPLOAD_MAX_SLIDE_BYTES (a zip bomb is refused before it is read).
"""
import configparser
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings

from imaging.archives import UNPACKING_ERRORS, is_hidden_member, is_zip_name, \
    points_outside_archive
from imaging.validation import megabytes

MRXS, DICOM = ".mrxs", ".dcm"
MRXS_ENTRY, MRXS_FOLDER = "slide.mrxs", "slide"
COPY_CHUNK_BYTES = 8 * 1024 * 1024


class PartsRejected(Exception):
    """The parts do not make one slide; the message says why."""


@dataclass
class LooseDicomFiles:
    """The .dcm files of one upload: the instances of one DICOM WSI, chosen from its folder."""
    uploads: list

    @property
    def name(self):
        first = self.uploads[0].name
        more = len(self.uploads) - 1
        return f"{first} and {more} more .dcm file(s)" if more else first

    @property
    def size(self):
        return sum(upload.size for upload in self.uploads)


def zip_members(upload):
    """The archive's file members, hidden ones (__MACOSX, dot files) left out, or None when
    it is no .zip."""
    try:
        upload.seek(0)
        with zipfile.ZipFile(upload) as archive:
            return [info for info in archive.infolist()
                    if not info.is_dir() and not is_hidden_member(PurePosixPath(info.filename))]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return None
    finally:
        upload.seek(0)


def is_slide_archive(upload):
    """A .zip holding a .mrxs slide or DICOM instances (any other .zip holds images)."""
    if not is_zip_name(upload.name):
        return False
    members = zip_members(upload) or []
    return any(PurePosixPath(info.filename).suffix.lower() in (MRXS, DICOM) for info in members)


def unpack_slide_parts(parts, folder):
    """Unpack ``parts`` (a slide archive or LooseDicomFiles) into ``folder``; return the
    relative path of the file OpenSlide opens. PartsRejected says why they make no slide."""
    if isinstance(parts, LooseDicomFiles):
        return copy_loose_dicom(parts, Path(folder))
    return unpack_zip(parts, Path(folder))


def copy_loose_dicom(parts, folder):
    if parts.size > settings.UPLOAD_MAX_SLIDE_BYTES:
        raise PartsRejected(too_large())
    names = []
    for index, upload in enumerate(sorted(parts.uploads, key=lambda upload: upload.name)):
        names.append(f"instance-{index:04d}{DICOM}")
        upload.seek(0)
        with open(folder / names[-1], "wb") as copy:
            for chunk in upload.chunks(COPY_CHUNK_BYTES):
                copy.write(chunk)
    return names[0]


def too_large():
    return (f"it unpacks to more than the whole-slide limit of "
            f"{megabytes(settings.UPLOAD_MAX_SLIDE_BYTES)}; it was not stored")


def unpack_zip(upload, folder):
    members = zip_members(upload)
    if members is None:
        raise PartsRejected("it is not a valid .zip archive; it was not stored")
    refuse_unsafe_members(members)
    slide_files = [info for info in members if suffix_of(info) == MRXS]
    if len(slide_files) > 1:
        raise PartsRejected(f"it holds {len(slide_files)} .mrxs slides; zip each "
                            f"slide (its .mrxs file and its folder) on its own")
    if slide_files:
        chosen, layout = mrxs_layout(slide_files[0], members)
    else:
        chosen = [info for info in members if suffix_of(info) == DICOM]
        layout = {info.filename: f"instance-{index:04d}{DICOM}"
                  for index, info in enumerate(sorted(chosen, key=lambda info: info.filename))}
    with zipfile.ZipFile(upload) as archive:
        for info in chosen:
            extract(archive, info, folder / layout[info.filename])
    upload.seek(0)
    if slide_files:
        refuse_missing_mrxs_data(folder / MRXS_FOLDER)
        return MRXS_ENTRY
    return layout[min(layout)]


def suffix_of(info):
    return PurePosixPath(info.filename).suffix.lower()


def refuse_unsafe_members(members):
    hostile = [info.filename for info in members if points_outside_archive(info.filename)]
    if hostile:
        raise PartsRejected(f"the path of {hostile[0]} in the archive is absolute or "
                            f"climbs out with '..'; zip the slide's folder again without such "
                            f"paths. It was not stored")
    encrypted = [info.filename for info in members if info.flag_bits & 0x1]
    if encrypted:
        raise PartsRejected(f"{encrypted[0]} is encrypted inside the archive; it was "
                            f"not stored")
    if len(members) > settings.UPLOAD_MAX_FILES_PER_BATCH:
        raise PartsRejected(f"it holds more than {settings.UPLOAD_MAX_FILES_PER_BATCH} "
                            f"files; it was not stored")
    # Declared sizes first: a zip bomb is refused before a byte of it is unpacked (and
    # zipfile reads no member past its declared size).
    if sum(info.file_size for info in members) > settings.UPLOAD_MAX_SLIDE_BYTES:
        raise PartsRejected(too_large())


def mrxs_layout(slide_file, members):
    """(members to unpack, their names in the folder): the .mrxs file and the files of the
    same-named folder beside it, as slide.mrxs and slide/<file>."""
    path = PurePosixPath(slide_file.filename)
    data_folder = path.with_suffix("")
    data_files = [info for info in members if PurePosixPath(info.filename).parent == data_folder]
    if not any(PurePosixPath(info.filename).name == "Slidedat.ini" for info in data_files):
        raise PartsRejected(
            f"missing data files: {path.name} needs its folder '{data_folder.name}' "
            f"(Slidedat.ini, Index.dat, Data*.dat) beside it in the archive; zip the .mrxs "
            f"file together with that folder. It was not stored")
    layout = {slide_file.filename: MRXS_ENTRY}
    layout.update({info.filename: f"{MRXS_FOLDER}/{PurePosixPath(info.filename).name}"
                   for info in data_files})
    return [slide_file, *data_files], layout


def refuse_missing_mrxs_data(data_folder):
    """Every file Slidedat.ini names (the index and the data files) must be there: OpenSlide
    would open the slide without some and fail on the first tile it needs."""
    ini = configparser.RawConfigParser(strict=False)
    try:
        ini.read(data_folder / "Slidedat.ini", encoding="utf-8-sig")
        named = [ini.get("HIERARCHICAL", "INDEXFILE", fallback="Index.dat")]
        count = ini.getint("DATAFILE", "FILE_COUNT", fallback=0)
        named += [ini.get("DATAFILE", f"FILE_{index}", fallback="") for index in range(count)]
    except (configparser.Error, ValueError, UnicodeDecodeError) as error:
        raise PartsRejected(f"its Slidedat.ini cannot be read ({error}); it was not "
                            f"stored") from None
    # OpenSlide opens the files Slidedat.ini names: none may lie outside the slide's folder.
    outside = [file for file in named if PurePosixPath(file.replace("\\", "/")).name != file]
    if outside:
        raise PartsRejected(f"its Slidedat.ini names {outside[0]}, a file outside the slide's "
                            f"folder; it was not stored")
    missing = [file for file in named if file and not (data_folder / file).is_file()]
    if missing:
        raise PartsRejected(f"missing data files: {', '.join(missing[:5])} "
                            f"{'are' if len(missing) > 1 else 'is'} not in the slide's folder "
                            f"in the archive; zip the whole folder again. It was not stored")


def extract(archive, info, target):
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with archive.open(info) as member, open(target, "wb") as copy:
            shutil.copyfileobj(member, copy, COPY_CHUNK_BYTES)
    except UNPACKING_ERRORS as error:
        raise PartsRejected(f"{info.filename} could not be unpacked ({error}); it "
                            f"was not stored") from None
