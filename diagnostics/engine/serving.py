"""Serving a saved model without torch: its backbone as ONNX, run by OpenVINO or ONNX Runtime.

A worker that loads a model folder holding ``backbone.onnx`` (see :mod:`onnx_export`) with
``load_classifier(folder, runtime="auto")`` gets an :class:`OnnxClassifier`: the same
preprocessing (numpy), head, calibration and referral rule as :class:`HybridClassifier`, its
probabilities within 1e-4 of torch's (``bench/onnx_equivalence.py``), and Grad-CAM overlays
from the exported feature map (:mod:`cam`). Neither torch nor Django is imported here.
"""

import logging
import os
from itertools import islice

import numpy as np

from .cam import grad_cam_maps, overlay
from .checksums import check_sha256
from .precision import FLOAT32, resolve_precision
from .predictions import HeadPredictions
from .preprocessing import Preprocessing, normalise_array, square_pixel_array

logger = logging.getLogger(__name__)

ONNX_FILE = "backbone.onnx"
INPUT_NAME = "pixels"
FEATURES_OUTPUT = "features"
MAP_OUTPUT = "feature_map"
DEVICES = ("auto", "cpu", "cuda")
CUDA_PROVIDER, CPU_PROVIDER = "CUDAExecutionProvider", "CPUExecutionProvider"

# The flips and rotations of HybridClassifier's VIEWS, on numpy (N, 3, S, S) batches.
VIEWS = {
    "identity": lambda batch: batch,
    "hflip": lambda batch: batch[:, :, :, ::-1],
    "vflip": lambda batch: batch[:, :, ::-1, :],
    "rot90": lambda batch: np.rot90(batch, 1, axes=(2, 3)),
    "rot180": lambda batch: np.rot90(batch, 2, axes=(2, 3)),
    "rot270": lambda batch: np.rot90(batch, 3, axes=(2, 3)),
}


def default_threads():
    """Threads for one worker process: ``OMP_NUM_THREADS`` where the operator (or the
    prefork pool, see celinsight.celery) set it, else every core this process may use."""
    configured = os.environ.get("OMP_NUM_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def execution_providers(device, available):
    """ONNX Runtime providers for ``device`` (auto, cpu or cuda), given the ``available``
    ones: CUDA first under auto or cuda when this ONNX Runtime has it, else the CPU.

    Asking for cuda where there is none logs a warning and serves on the CPU: the lab keeps
    working, with results equal within tolerance, and the log says why it is slower.
    """
    if device not in DEVICES:
        raise ValueError(f"Unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if device in ("auto", "cuda") and CUDA_PROVIDER in available:
        return [CUDA_PROVIDER, CPU_PROVIDER]
    if device == "cuda":
        logger.warning("CELINSIGHT_DEVICE=cuda, but ONNX Runtime offers no CUDA here "
                       "(providers: %s; install onnxruntime-gpu on a machine with a GPU); "
                       "the model is served on the CPU", ", ".join(available))
    return [CPU_PROVIDER]


class OnnxBackbone:
    """An exported backbone in an ONNX Runtime session: normalised (N, 3, S, S) float32 ->
    features (N, d), and on request the Grad-CAM layer's map (N, C, h, w)."""

    def __init__(self, path, name, num_features, device="cpu", threads=None):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle threads sleep rather than spin between batches: the worker decodes images and
        # writes results on the same cores in between.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # Planning memory per input shape held about 75 MB more at the peak and was not
        # faster (scratch timings, batches of 16 at 128 px on 2 cores).
        options.enable_mem_pattern = False
        providers = execution_providers(device, onnxruntime.get_available_providers())
        self.session = onnxruntime.InferenceSession(str(path), options, providers=providers)
        self.name, self.num_features = name, num_features
        self.threads = options.intra_op_num_threads
        self.providers = self.session.get_providers()

    def features(self, batch):
        return self.session.run([FEATURES_OUTPUT], {INPUT_NAME: batch})[0]

    def features_and_map(self, batch):
        return self.session.run([FEATURES_OUTPUT, MAP_OUTPUT], {INPUT_NAME: batch})


class OpenVinoBackbone:
    """:class:`OnnxBackbone`'s interface, the same ``backbone.onnx`` compiled by OpenVINO
    for the CPU: 1.5-1.9x as fast as ONNX Runtime on the 2-core machine (backbone alone,
    interleaved, bench/README.md), features within 1e-5 of it. Compiled on first use, so a
    backbone another model's pass stands in for (:class:`PrefixBackbone`) holds no memory."""

    def __init__(self, path, name, num_features, threads=None):
        import openvino  # noqa: F401 (where it is missing, serving_backbone falls back now)

        self.path, self.name, self.num_features = str(path), name, num_features
        self.threads = threads or default_threads()
        self.providers = ["OpenVINO CPU"]
        self.request = None

    def features(self, batch):
        return self._run(batch)[0]

    def features_and_map(self, batch):
        return self._run(batch)

    def ready(self):
        """Compile now (a worker starting), so the first batch does not wait for it."""
        if self.request is None:
            self._compile()
        return self

    def _run(self, batch):
        self.ready()
        # Copies: the request reuses its output buffers on the next call.
        results = self.request.infer({INPUT_NAME: batch})
        return [np.array(results[output]) for output in self.outputs]

    def _compile(self):
        import openvino

        compiled = openvino.Core().compile_model(self.path, "CPU", {
            "INFERENCE_NUM_THREADS": self.threads,
            "INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"})
        self.outputs = [compiled.output(FEATURES_OUTPUT), compiled.output(MAP_OUTPUT)]
        self.request = compiled.create_infer_request()


class PrefixBackbone:
    """A backbone whose features begin with this model's own (the same weights, more
    features after them: see :func:`reads_pass_of`), read as this model's backbone: its
    first ``num_features`` features and its Grad-CAM map, which is the same layer's.
    ``own`` is the model's own backbone, kept (uncompiled) for when the pass is no longer
    shared."""

    def __init__(self, backbone, own):
        self.backbone, self.own = backbone, own
        self.name, self.num_features = own.name, own.num_features
        self.threads, self.providers = backbone.threads, backbone.providers

    def features(self, batch):
        return self.backbone.features(batch)[:, :self.num_features]

    def ready(self):
        getattr(self.backbone, "ready", lambda: None)()
        return self

    def features_and_map(self, batch):
        features, feature_map = self.backbone.features_and_map(batch)
        return [features[:, :self.num_features], feature_map]


def reads_pass_of(reader, model):
    """Whether ``reader``'s backbone features begin with ``model``'s own (two loaded
    classifiers): see :func:`metadata_reads_pass_of`."""
    return metadata_reads_pass_of(reader.metadata_, model.metadata_)


def metadata_reads_pass_of(reader, model):
    """Whether the model of metadata ``reader`` reads the backbone pass of the model of
    metadata ``model``: it was built from ``model``'s fine-tuned weights (the same file, by
    sha256) and not trained further, with more features after them, and both prepare one
    view of a cell alike. Then one pass serves both."""
    weights = (model["backbone"].get("fine_tuned") or {}).get("sha256")
    backbone = reader["backbone"]
    return bool(weights) and backbone.get("weights_sha256") == weights and \
        not backbone.get("fine_tuned") and \
        backbone["num_features"] > model["backbone"]["num_features"] and \
        reader["preprocessing"] == model["preprocessing"] and \
        list(reader["preprocessing"].get("views", ["identity"])) == ["identity"]


def serving_backbone(path, name, num_features, device="cpu", threads=None):
    """The fastest engine for ``backbone.onnx`` here: ONNX Runtime's CUDA provider where
    asked (cuda, or auto) and present, else OpenVINO on the CPU where installed, else ONNX
    Runtime on the CPU."""
    import onnxruntime

    providers = execution_providers(device, onnxruntime.get_available_providers())
    if CUDA_PROVIDER not in providers:
        try:
            return OpenVinoBackbone(path, name, num_features, threads)
        except ImportError:
            pass
    return OnnxBackbone(path, name, num_features, device, threads)


class OnnxClassifier(HeadPredictions):
    """A saved model served with ONNX Runtime: prepare, predict, refer and explain like a
    loaded :class:`HybridClassifier`, without torch. Built by ``load_classifier``."""

    inference_precision = FLOAT32

    def __init__(self, backbone, preprocessing, views=("identity",), batch_size=16,
                 cam_activation="identity"):
        self.backbone_ = backbone
        self.preprocessing_ = preprocessing
        self.views = tuple(views)
        self.batch_size = batch_size
        self.cam_activation = cam_activation

    def prepare_pixels(self, images):
        """Resize/pad (and enhance) PIL images: uint8 array (n, size, size, 3)."""
        return square_pixel_array(images, self.preprocessing_)

    def extract_features(self, images, batch_size=None, progress=False, views=None):
        """Backbone features of PIL images, shape (n_views, n_images, n_features)."""
        batch_size = batch_size or self.batch_size
        iterator = iter(images)
        features = []
        while chunk := list(islice(iterator, batch_size)):
            features.append(self.pixel_features(self.prepare_pixels(chunk), views=views))
        if not features:
            return np.empty((len(views or self.views), 0, self.backbone_.num_features),
                            dtype=np.float32)
        return np.concatenate(features, axis=1)

    def pixel_features(self, pixels, views=None, batch_size=None):
        """Features (n_views, n, d) of prepared pixels from :meth:`prepare_pixels`."""
        views = tuple(views or self.views)
        batch_size = batch_size or self.batch_size
        pixels = np.asarray(pixels)
        per_batch = []
        for start in range(0, len(pixels), batch_size):
            batch = normalise_array(pixels[start:start + batch_size], self.preprocessing_)
            per_batch.append(np.stack([
                self.backbone_.features(np.ascontiguousarray(VIEWS[view](batch)))
                for view in views]))
        if not per_batch:
            return np.empty((len(views), 0, self.backbone_.num_features), dtype=np.float32)
        return np.concatenate(per_batch, axis=1)

    def cam_overlays(self, images, class_names):
        """Grad-CAM overlays (PIL RGB) of ``class_names[i]`` over ``images[i]``, from the
        exported feature map and the explainer (see :mod:`cam`)."""
        explainer = self.explainer_
        overlays = []
        for start in range(0, len(images), self.batch_size):
            pixels = self.prepare_pixels(images[start:start + self.batch_size])
            names = class_names[start:start + self.batch_size]
            _, maps = self.backbone_.features_and_map(
                normalise_array(pixels, self.preprocessing_))
            coef = explainer.coef_[[explainer.classes_.index(name) for name in names]]
            heats = grad_cam_maps(maps, coef, self.cam_activation,
                                  self.preprocessing_.image_size)
            overlays += [overlay(cell, heat) for cell, heat in zip(pixels, heats)]
        return overlays

    def set_inference_precision(self, requested):
        """The ONNX backbone computes in float32: bfloat16 (asked, or ``auto`` on a CPU with
        native bfloat16) is logged and ignored. Returns self."""
        if resolve_precision(requested) != FLOAT32:
            logger.warning("Inference precision %s is not available with the ONNX backbone; "
                           "it computes in float32", requested)
        return self


def onnx_classifier(metadata, directory, device="cpu", threads=None):
    """An :class:`OnnxClassifier` with a saved model's backbone and preprocessing (its head,
    calibration and explainer are set by ``load_classifier``)."""
    recorded = metadata["backbone"]["onnx"]
    path = directory / recorded["file"]
    check_sha256(path, recorded["sha256"])
    preprocessing = metadata["preprocessing"]
    backbone = serving_backbone(path, metadata["backbone"]["name"],
                                metadata["backbone"]["num_features"], device, threads)
    return OnnxClassifier(backbone, Preprocessing.from_dict(preprocessing),
                          views=preprocessing.get("views", ["identity"]),
                          cam_activation=recorded.get("cam_activation", "identity"))
