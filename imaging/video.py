"""Turns a short microscope video (MP4 or AVI) into PNG frames, one every few seconds.

Each frame is then checked and stored like any uploaded image. OpenCV reads only from
a path, so the video's bytes go to a temporary file that is always deleted afterwards.
"""
import math
import os
import tempfile
from pathlib import PurePosixPath

import cv2
from django.conf import settings

VIDEO_EXTENSIONS = (".mp4", ".avi")
MAX_FRAMES_PER_VIDEO = 300


class VideoRejected(Exception):
    """The video, or the rest of it, gives no frames; the message says why."""


def is_video_name(name):
    return name.lower().endswith(VIDEO_EXTENSIONS)


def frame_name(video_name, seconds):
    """``clip.mp4@01m05s.png``; tenths of a second too when frames are under 1 s apart."""
    minutes, rest = divmod(seconds, 60)
    if float(settings.VIDEO_FRAME_INTERVAL_SECONDS).is_integer():
        stamp = f"{int(minutes):02d}m{round(rest):02d}s"
    else:
        stamp = f"{int(minutes):02d}m{rest:04.1f}s"
    return f"{video_name}@{stamp}.png"


def sample_count(frame_rate, frame_count):
    """How many frames one every interval gives, from 0 s to the end, before the cap."""
    duration = frame_count / frame_rate
    return math.floor(duration / settings.VIDEO_FRAME_INTERVAL_SECONDS - 1e-9) + 1


def open_video(path):
    """The opened capture, its frame rate and its frame count; VideoRejected if unusable."""
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise VideoRejected("it is not a video OpenCV can read (MP4 or AVI); it may be damaged")
    frame_rate = capture.get(cv2.CAP_PROP_FPS)
    frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    if not frame_rate > 0 or frame_count <= 0:
        capture.release()
        raise VideoRejected("its frame rate or length cannot be read; it may be damaged")
    if width * height > settings.UPLOAD_MAX_IMAGE_PIXELS:
        capture.release()
        raise VideoRejected(
            f"its frames are {width}x{height} pixels, above the limit of "
            f"{settings.UPLOAD_MAX_IMAGE_PIXELS:,} pixels"
        )
    return capture, frame_rate, frame_count


def read_sampled_frames(capture, video_name, seconds_by_index):
    """Yield (name, seconds, PNG bytes) for the sampled frames; grab() skips the others
    cheaply."""
    for index in range(max(seconds_by_index) + 1):
        if not capture.grab():
            return
        if index not in seconds_by_index:
            continue
        decoded, frame = capture.retrieve()
        encoded, png = cv2.imencode(".png", frame) if decoded else (False, None)
        if encoded:
            seconds = seconds_by_index[index]
            yield frame_name(video_name, seconds), seconds, png.tobytes()


def sample_frames(video_name, data):
    """Yield (frame name, seconds, PNG bytes), one frame every VIDEO_FRAME_INTERVAL_SECONDS.

    Raises VideoRejected before any frame when the video cannot be read, and after
    the last frame when the cap of MAX_FRAMES_PER_VIDEO left the rest unsampled.
    """
    suffix = PurePosixPath(video_name).suffix.lower()
    handle, path = tempfile.mkstemp(suffix=suffix, prefix="celinsight-video-")
    try:
        with os.fdopen(handle, "wb") as temporary:
            temporary.write(data)
        capture, frame_rate, frame_count = open_video(path)
        try:
            yield from sample_open_video(capture, video_name, frame_rate, frame_count)
        finally:
            capture.release()
    finally:
        os.unlink(path)


def sample_open_video(capture, video_name, frame_rate, frame_count):
    interval = settings.VIDEO_FRAME_INTERVAL_SECONDS
    wanted = sample_count(frame_rate, frame_count)
    kept = min(wanted, MAX_FRAMES_PER_VIDEO)
    seconds_by_index = {round(k * interval * frame_rate): k * interval for k in range(kept)}
    frames = 0
    for frame in read_sampled_frames(capture, video_name, seconds_by_index):
        frames += 1
        yield frame
    if not frames:
        raise VideoRejected("none of its frames could be decoded; it may be damaged")
    if wanted > kept:
        raise VideoRejected(
            f"only its first {kept} frames (one every {interval:g} s) were sampled; "
            f"upload longer recordings as several shorter clips"
        )
