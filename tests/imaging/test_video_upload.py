import tempfile

import cv2
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from diagnostics.models import CellResult
from imaging import video
from imaging.models import ImageAsset, UploadBatch


def tiny_video(tmp_path, name, fourcc, seconds, frame_rate=10):
    """A small video whose every frame differs, so no two sampled frames are duplicates."""
    path = tmp_path / name
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), frame_rate, (48, 32))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} here"
    for index in range(seconds * frame_rate):
        frame = np.zeros((32, 48, 3), np.uint8)
        frame[:, :, 1] = (index * 5) % 256
        frame[index % 24, :, 2] = 255
        writer.write(frame)
    writer.release()
    return SimpleUploadedFile(name, path.read_bytes(), content_type="video/x-msvideo")


def upload(client, specimen, files):
    return client.post(reverse("imaging:upload", args=[specimen.pk]), {"files": files}, follow=True)


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize("name, fourcc", [("clip.avi", "MJPG"), ("clip.mp4", "mp4v")])
def test_video_frames_are_stored_and_queued_like_images(
    client_for, lab_staff, specimen, tmp_path, temp_dir, name, fourcc
):
    clip = tiny_video(tmp_path, name, fourcc, seconds=4)
    page = upload(client_for(lab_staff), specimen, [clip]).content.decode()
    names = list(ImageAsset.objects.filter(specimen=specimen).values_list("original_name", flat=True))
    assert names == [f"{name}@00m0{second}s.png" for second in range(4)]
    assert "4 image(s) stored and queued" in page
    assert set(ImageAsset.objects.values_list("image_format", flat=True)) == {"PNG"}
    assert CellResult.objects.filter(status="queued").count() == 4
    assert UploadBatch.objects.get().stored_count == 4
    assert list(temp_dir.iterdir()) == []  # OpenCV's temporary copy is gone


def test_frame_interval_is_a_setting(client_for, lab_staff, specimen, tmp_path, settings):
    settings.VIDEO_FRAME_INTERVAL_SECONDS = 2.0
    upload(client_for(lab_staff), specimen, [tiny_video(tmp_path, "slow.avi", "MJPG", seconds=5)])
    names = sorted(ImageAsset.objects.values_list("original_name", flat=True))
    assert names == ["slow.avi@00m00s.png", "slow.avi@00m02s.png", "slow.avi@00m04s.png"]


def test_long_video_is_capped_and_the_cap_reported(
    client_for, lab_staff, specimen, tmp_path, monkeypatch
):
    monkeypatch.setattr(video, "MAX_FRAMES_PER_VIDEO", 2)
    page = upload(client_for(lab_staff), specimen,
                  [tiny_video(tmp_path, "long.avi", "MJPG", seconds=4)]).content.decode()
    assert ImageAsset.objects.count() == 2
    rejection = UploadBatch.objects.get().rejections[0]
    assert rejection["file"] == "long.avi" and "only its first 2 frames" in rejection["reason"]
    assert "long.avi" in page


def test_corrupt_video_is_rejected_by_name_and_nothing_stored(
    client_for, lab_staff, specimen, sample_upload, media_in_tmp, temp_dir
):
    corrupt = SimpleUploadedFile("broken.mp4", b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 200)
    page = upload(client_for(lab_staff), specimen, [corrupt] + sample_upload(1)).content.decode()
    batch = UploadBatch.objects.get()
    assert batch.rejections == [{
        "file": "broken.mp4",
        "reason": "it is not a video OpenCV can read (MP4 or AVI); it may be damaged",
    }]
    assert "broken.mp4" in page and "not a video OpenCV can read" in page
    assert ImageAsset.objects.count() == batch.stored_count == 1  # the image beside it is stored
    assert list(temp_dir.iterdir()) == []


def test_video_inside_a_zip_is_sampled_too(client_for, lab_staff, specimen, tmp_path, make_zip):
    clip = tiny_video(tmp_path, "inner.avi", "MJPG", seconds=2)
    upload(client_for(lab_staff), specimen, [make_zip([("run1/inner.avi", clip.read())])])
    names = sorted(ImageAsset.objects.values_list("original_name", flat=True))
    assert names == ["cells.zip/inner.avi@00m00s.png", "cells.zip/inner.avi@00m01s.png"]


def test_video_upload_form_accepts_videos(client_for, lab_staff, specimen):
    page = client_for(lab_staff).get(specimen.get_absolute_url()).content.decode()
    assert ".mp4" in page and ".avi" in page
