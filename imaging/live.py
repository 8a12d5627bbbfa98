"""The live microscope view's analysis: one camera frame, checked like an upload, its nuclei
detected and the best-scored of them classified, in the web process and nothing stored.

A live view cannot wait for the queue, so the detector and the classifier are the worker's
own (diagnostics.field_cells.field_detector, diagnostics.classifier.classifier_for, each
loaded once per process) and the work is bounded: a frame of at most LIVE_MAX_FRAME_PIXELS,
at most LIVE_MAX_CELLS cells classified, one frame analysed at a time per process, and
the cells classified while the frame's time budget lasts. The answer says when a bound cut it
short.

Reading a frame is a read of patient data, logged once per live session (the page's visit),
and again only after AUDIT_POLL_READ_MINUTES of frames, as gallery polls are: not per frame.
"""
import secrets
import threading
import time

from django.conf import settings

from accounts.audit import log_patient_read
from imaging.validation import (ImageRejected, check_format_and_pixels, check_size,
                                decode_fully, open_image)

# 1920 x 1440: a 1080p or 4:3 microscope camera; the page scales larger frames down to it.
LIVE_MAX_FRAME_PIXELS = 1920 * 1440
LIVE_MAX_FRAME_BYTES = 8 * 1024 * 1024
# Detection takes 0.25-0.6 s of a 1280 x 960 field and each cell classified 4-10 ms on 2
# cores, quiet to loaded: the best-detected cells are classified in chunks while the frame's
# time budget lasts (at least one chunk, at most LIVE_MAX_CELLS): a frame takes the budget
# and a chunk at most, within the 1.5 s target unless detection alone nears it (0.47-0.84 s
# a 1280 x 960 CRIC frame at load 2.4, bench/live_latency.py). A fixed cap would cost cells:
# marked CRIC nuclei within 20 px of the best 64 / 100 / all detections of 21 fields (seen
# in the detector's training) were 73% / 79% / 96%.
LIVE_MAX_CELLS = 200
LIVE_CHUNK_CELLS = 25
LIVE_TIME_BUDGET_SECONDS = 1.2
# A frame waits this long for another user's frame to finish, then is answered "busy".
LIVE_WAIT_SECONDS = 3.0
# Colours of the classes on the overlay, in the classifier's class order (colour-blind safe:
# Okabe-Ito), the same for every frame of a session.
CLASS_COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#d55e00", "#56b4e9",
                 "#f0e442", "#000000")
LIVE_SESSIONS_KEPT = 20

_one_frame_at_a_time = threading.BoundedSemaphore(1)


class FrameRefused(Exception):
    """The frame cannot be analysed; the message says why, for the person at the microscope."""


class LiveBusy(Exception):
    """Another frame is being analysed in this process; the page sends the next one."""


def read_frame(uploaded):
    """The uploaded frame (a Django UploadedFile), checked as an upload is
    (imaging.validation) and decoded; a PIL image in RGB or L. Raises FrameRefused."""
    if uploaded is None:
        raise FrameRefused("No frame was sent: post the camera's picture as 'frame' (a JPEG "
                           "or PNG).")
    if uploaded.size > LIVE_MAX_FRAME_BYTES:
        raise FrameRefused(f"The frame is {uploaded.size / 2 ** 20:.1f} MB, above the live "
                           f"view's limit of {LIVE_MAX_FRAME_BYTES / 2 ** 20:.0f} MB.")
    data = uploaded.read()
    try:
        check_size(data)
        picture = open_image(data)
        check_format_and_pixels(picture)
        if picture.width * picture.height > LIVE_MAX_FRAME_PIXELS:
            raise ImageRejected(
                f"it is {picture.width}x{picture.height} pixels, above the live view's limit "
                f"of {LIVE_MAX_FRAME_PIXELS:,} pixels (1920 x 1440)")
        decode_fully(picture)
    except ImageRejected as rejection:
        raise FrameRefused(f"The frame was not analysed: {rejection}.") from None
    return picture if picture.mode in ("L", "RGB") else picture.convert("RGB")


def analyse_frame(picture):
    """Detect and classify the cells of ``picture``; the JSON-ready answer. Raises LiveBusy."""
    if not _one_frame_at_a_time.acquire(timeout=LIVE_WAIT_SECONDS):
        raise LiveBusy("The server is analysing another live frame; the next one is sent in "
                       "a second.")
    try:
        return detect_and_classify(picture)
    finally:
        _one_frame_at_a_time.release()


def detect_and_classify(picture):
    from diagnostics.classifier import active_model_version, classifier_for
    from diagnostics.engine.crops import cut_cell_crops
    from diagnostics.field_cells import field_detector

    started = time.perf_counter()
    model_version = active_model_version()
    detector, classifier = field_detector(), classifier_for(model_version)
    detections = detector.detect(picture)
    detections = detections.subset(detections.score >= settings.DETECTOR_MIN_SCORE)
    chosen = detections.subset(detections.score.argsort()[::-1][:LIVE_MAX_CELLS])
    crops = cut_cell_crops(picture, list(zip(chosen.x, chosen.y)), size=settings.CELL_CROP_PX)
    classes = list(classifier.classes_)
    cells = [cell_answer(position, classes, row, flag) for position, (row, flag)
             in zip(chosen.rows(), classify_while_time_lasts(classifier, crops, started))]
    return {
        "width": picture.width, "height": picture.height,
        "cells": cells, "cells_found": len(detections), "cells_classified": len(cells),
        "cell_limit": LIVE_MAX_CELLS, "time_budget_ms": round(LIVE_TIME_BUDGET_SECONDS * 1000),
        "capped": len(detections) > len(cells),
        "classes": [{"name": name, "colour": CLASS_COLOURS[index % len(CLASS_COLOURS)]}
                    for index, name in enumerate(classes)],
        "detector_version": detector.metadata_.get("version", ""),
        "model_version": model_version,
        "server_ms": round((time.perf_counter() - started) * 1000),
    }


def classify_while_time_lasts(classifier, crops, started):
    """(probabilities, flagged) of the first crops, LIVE_CHUNK_CELLS at a time, as long as
    the next chunk is expected to end within LIVE_TIME_BUDGET_SECONDS of ``started``."""
    from diagnostics.slide_cells import classify_tile

    deadline, answered = started + LIVE_TIME_BUDGET_SECONDS, []
    for first in range(0, len(crops), LIVE_CHUNK_CELLS):
        chunk_started = time.perf_counter()
        # The overlay shows the morphology classes: no Bethesda model, the latency is short.
        probabilities, _, flagged, _, _ = classify_tile(
            classifier, None, crops[first:first + LIVE_CHUNK_CELLS], "a live frame")
        answered += zip(probabilities.tolist(), flagged.tolist())
        now = time.perf_counter()
        if now + (now - chunk_started) > deadline:
            break
    return answered


def cell_answer(position, classes, probabilities, flagged):
    x, y, score, radius = position
    best = max(range(len(classes)), key=probabilities.__getitem__)
    return {"x": round(x, 1), "y": round(y, 1), "radius": round(radius, 1),
            "score": round(score, 3), "class": classes[best],
            "probability": round(probabilities[best], 3), "flagged": bool(flagged)}


def start_live_session(request, specimen):
    """A new live session's id, its read of the specimen logged now (the page's visit)."""
    session_id = secrets.token_urlsafe(12)
    log_patient_read(request, specimen)
    remember_live_session(request, session_id, specimen)
    return session_id


def log_live_read(request, specimen, session_id):
    """Log the frame's read of the specimen unless its live session logged one in the last
    AUDIT_POLL_READ_MINUTES: one entry per session (and per window of a long one)."""
    known = request.session.get("live_sessions", {}).get(session_id)
    window = settings.AUDIT_POLL_READ_MINUTES * 60
    if known and known["specimen"] == specimen.pk and time.time() - known["logged"] < window:
        return
    log_patient_read(request, specimen)
    remember_live_session(request, session_id, specimen)


def remember_live_session(request, session_id, specimen):
    sessions = dict(request.session.get("live_sessions", {}))
    sessions[str(session_id)[:40]] = {"specimen": specimen.pk, "logged": time.time()}
    newest = sorted(sessions.items(), key=lambda item: item[1]["logged"])[-LIVE_SESSIONS_KEPT:]
    request.session["live_sessions"] = dict(newest)
