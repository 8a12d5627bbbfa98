"""Turns an upload (loose files, .zip archives, videos) into named files to check one by one."""
import lzma
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings

from imaging.names import neutralise_bidi
from imaging.validation import megabytes, too_large_reason
from imaging.video import VideoRejected, is_video_name, sample_frames


@dataclass(frozen=True)
class UploadedFile:
    name: str
    data: bytes = b""
    problem: str = ""  # set when the file could not even be read
    video_name: str = ""  # a frame sampled from this video ...
    frame_seconds: float = None  # ... at this time

    def __post_init__(self):
        # Every name reported or stored comes from here: none reorders the text it is shown in.
        object.__setattr__(self, "name", neutralise_bidi(self.name))


def is_zip_name(name):
    return name.lower().endswith(".zip")


def is_hidden_member(path):
    return path.name.startswith(".") or "__MACOSX" in path.parts


def points_outside_archive(member_name):
    """True for "/tmp/x.png", "C:\\x.png" or "../../etc/x.png": tools that zip a folder of
    images never write such names, so the member is hostile, not merely oddly named."""
    path = PurePosixPath(member_name.replace("\\", "/"))
    has_drive = len(member_name) > 1 and member_name[1] == ":"
    return path.is_absolute() or has_drive or ".." in path.parts


# zipfile lets its decompressors' own errors through: corrupt deflate data is a zlib.error.
UNPACKING_ERRORS = (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError,
                    zlib.error, lzma.LZMAError)
OUTSIDE_ARCHIVE = ("its path in the archive is absolute or climbs out with '..'; zip the "
                   "images' folder again without such paths")


def archive_too_large_reason():
    return (f"the archive unpacks to more than {megabytes(settings.UPLOAD_MAX_ZIP_BYTES)}; this "
            f"file and the rest of the archive were skipped; split it into smaller archives")


def read_member(archive, info, display_name):
    if info.flag_bits & 0x1:
        return UploadedFile(display_name, problem="it is encrypted inside the archive")
    if info.file_size > settings.UPLOAD_MAX_FILE_BYTES:
        return UploadedFile(display_name, problem=too_large_reason(info.file_size))
    # Read one byte past the limit: a zip header can lie about the uncompressed size.
    with archive.open(info) as member:
        data = member.read(settings.UPLOAD_MAX_FILE_BYTES + 1)
    if len(data) > settings.UPLOAD_MAX_FILE_BYTES:
        return UploadedFile(display_name, problem=too_large_reason())
    return UploadedFile(display_name, data)


def files_in_zip(upload):
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        yield UploadedFile(upload.name, problem="it is not a valid .zip archive")
        return
    unpacked_bytes = 0
    with archive:
        for info in archive.infolist():
            path = PurePosixPath(info.filename)
            if info.is_dir() or is_hidden_member(path):
                continue
            if points_outside_archive(info.filename):
                yield UploadedFile(f"{upload.name}/{info.filename}", problem=OUTSIDE_ARCHIVE)
                continue
            display_name = f"{upload.name}/{path.name}"
            unpacked_bytes += info.file_size
            if unpacked_bytes > settings.UPLOAD_MAX_ZIP_BYTES:
                yield UploadedFile(display_name, problem=archive_too_large_reason())
                return
            try:
                yield read_member(archive, info, display_name)
            except UNPACKING_ERRORS as error:
                yield UploadedFile(display_name, problem=f"it could not be unpacked ({error})")


def read_loose_file(upload):
    name = PurePosixPath(upload.name).name
    if upload.size > settings.UPLOAD_MAX_FILE_BYTES:
        return UploadedFile(name, problem=too_large_reason(upload.size))
    return UploadedFile(name, upload.read())


def frames_in_video(video):
    """The video's sampled frames as PNG files, or the video with the reason it gave none."""
    if video.problem:
        yield video
        return
    try:
        for name, seconds, png in sample_frames(video.name, video.data):
            yield UploadedFile(name, png, video_name=video.name, frame_seconds=seconds)
    except VideoRejected as rejection:
        yield UploadedFile(video.name, problem=str(rejection))


def with_video_frames(files):
    for file in files:
        if is_video_name(file.name):
            yield from frames_in_video(file)
        else:
            yield file


def expand_uploads(uploads):
    """Yield every file of an upload, unpacking .zip archives and sampling videos' frames;
    at most the batch limit."""
    count = 0
    for upload in uploads:
        members = files_in_zip(upload) if is_zip_name(upload.name) else [read_loose_file(upload)]
        for member in with_video_frames(members):
            count += 1
            if count > settings.UPLOAD_MAX_FILES_PER_BATCH:
                yield UploadedFile(
                    member.name,
                    problem=f"the batch has more than {settings.UPLOAD_MAX_FILES_PER_BATCH} files",
                )
                continue
            yield member
