"""Finding squamous cell nuclei in a field of view: a classical, scale-space detector.

    detector = load_detector("diagnostics/trained_models/detector")
    detections = detector.detect(pil_image_or_array)   # x, y, score, radius per nucleus

How it works (each step chosen by measurement on CRIC, see bench/detector_accuracy.py):

1. Darkness: the image as optical density of its luminance, ``-log(I / background)``, where
   the background is a bright percentile of the image itself. Colour and grayscale images,
   other stains and other exposures all become the same kind of channel.
2. Candidates: peaks of the scale-normalised Laplacian of Gaussian in (x, y, scale), over
   nucleus radii from about half to twice CRIC's, on a half-resolution copy (4x fewer
   pixels; a nucleus is still 10+ pixels across). Peaks are looked for in 3-D, so a pale
   nucleus next to a dark one is not swallowed by its neighbour's larger blob.
3. Score: a logistic model on a few measurements per candidate, each taken at the candidate's
   own scale (so a rescaled image measures alike): blob strength, darkness at the centre,
   darkness, texture and coverage of the ring around it. A nucleus of interest sits in smooth
   cytoplasm; leukocytes are small dense nuclei in textured clusters or on bare background.
   The shipped design ("log-context-boosted", ``cell_detector_context``) scores the
   candidates that pass this first stage again, on the patch around each: radial profile,
   shape of the dark region, neighbouring candidates (leukocytes come in clusters).
4. Overlapping candidates keep the best scored; a threshold decides what is reported: the
   shipped one is the highest keeping 0.95 of CRIC's marks on out-of-fold scores
   (``train_detector --held-out-recall 0.95``), since every detection costs the worker a
   crop to store and classify.

No Django here; numpy, scipy and scikit-image only.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi
from scipy.spatial import cKDTree
from skimage.feature import peak_local_max

from .registry import Registry

DETECTORS = Registry("detector")

# Work on a copy this many times smaller than the image (at scale 1, CRIC's magnification).
WORK_DOWNSAMPLE = 2
# LoG scales at work resolution; a blob of sigma s has radius about s * sqrt(2).
WORK_SIGMAS = (2.0, 2.8, 4.0, 5.6, 8.0)
# The surroundings are measured on a copy this many times smaller again.
RING_DOWNSAMPLE = 4
# Rings: the surroundings at these multiples of a blob's sigma (cytoplasm, then beyond).
RING_FACTORS = (3.0, 6.0)
FEATURE_NAMES = ("response", "response_smaller", "response_larger", "centre_od",
                 *(f"ring{factor:g}_{measure}" for factor in RING_FACTORS
                   for measure in ("od", "texture", "coverage")),
                 "log_sigma")
# Optical density above which a pixel is "something" rather than glass.
COVERAGE_OD = 0.08


@dataclass
class Detections:
    """Nuclei found in one image, in that image's own pixels, best score first."""
    x: np.ndarray
    y: np.ndarray
    score: np.ndarray
    radius: np.ndarray
    features: np.ndarray = field(default=None, repr=False)

    def __len__(self):
        return len(self.x)

    def rows(self):
        """(x, y, score, radius) tuples, for writing out."""
        return list(zip(self.x.tolist(), self.y.tolist(), self.score.tolist(),
                        self.radius.tolist()))

    def subset(self, keep):
        return Detections(self.x[keep], self.y[keep], self.score[keep], self.radius[keep],
                          None if self.features is None else self.features[keep])


def optical_density(image):
    """The image's darkness as optical density of its luminance, (H, W) float32.

    ``image`` is a PIL image or an (H, W) / (H, W, C) array (uint8 or float in 0-255). The
    background is the image's own bright level (99th percentile), so exposure and stain
    intensity differ between labs without changing what a nucleus looks like here.
    """
    gray = _luminance(image)
    background = max(float(np.percentile(gray, 99)), 1.0)
    return -np.log(np.clip(gray / background, 1e-3, 1.0)).astype(np.float32)


def _luminance(image):
    if isinstance(image, Image.Image):
        image = image.convert("L") if image.mode not in ("L", "F", "I", "I;16") else image
    pixels = np.asarray(image, dtype=np.float32)
    if pixels.ndim == 3:
        if pixels.shape[2] >= 3:
            pixels = pixels[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        else:
            pixels = pixels[..., 0]
    if pixels.max(initial=0) > 255:  # 16-bit grayscale
        pixels = pixels * (255.0 / pixels.max())
    return pixels


def find_candidates(image, scale=1.0):
    """Every LoG peak of ``image`` with its measurements, before scoring.

    ``scale`` is how many times larger a nucleus looks than in CRIC's fields (2 for a field
    taken at twice the magnification); the image is resampled so nuclei come out CRIC-sized.
    Returns :class:`Detections` with score 0 and ``features`` (N, len(FEATURE_NAMES));
    ``cell_detector_context.find_candidates_with_context`` adds the measurements of the patch
    around each candidate.
    """
    candidates, _ = candidates_and_work(image, scale)
    return candidates


@dataclass
class WorkField:
    """The work-resolution darkness of a field and every candidate's place in it."""
    density: np.ndarray
    rows: np.ndarray
    columns: np.ndarray
    sigmas: np.ndarray
    response: np.ndarray


def candidates_and_work(image, scale=1.0):
    """(:class:`Detections` as :func:`find_candidates` returns, :class:`WorkField`)."""
    density = optical_density(image)
    factor = WORK_DOWNSAMPLE * scale
    work = ndi.zoom(ndi.gaussian_filter(density, 0.5 * factor), 1.0 / factor, order=1)
    # The surroundings are measured with wide windows, on a coarser copy (same result, 16x
    # fewer pixels to filter).
    coarse = ndi.zoom(work, 1.0 / RING_DOWNSAMPLE, order=1)
    covered = (coarse > COVERAGE_OD).astype(np.float32)
    responses = in_threads(lambda sigma: -ndi.gaussian_laplace(work, sigma) * sigma ** 2,
                           WORK_SIGMAS)
    cube = np.stack(responses, axis=-1)
    peaks = peak_local_max(cube, footprint=np.ones((5, 5, 3)), threshold_abs=0.0,
                           exclude_border=False)
    rows, columns, scales = peaks[:, 0], peaks[:, 1], peaks[:, 2]
    features = np.empty((len(peaks), len(FEATURE_NAMES)), dtype=np.float32)
    own = cube[rows, columns, scales]
    features[:, 0] = own
    # How the blob answers one scale down and up: its shape across sizes, not its size.
    last = len(WORK_SIGMAS) - 1
    features[:, 1] = cube[rows, columns, np.clip(scales - 1, 0, last)] / (own + 1e-6)
    features[:, 2] = cube[rows, columns, np.clip(scales + 1, 0, last)] / (own + 1e-6)
    at_coarse = np.vstack([rows, columns]).astype(np.float32) / RING_DOWNSAMPLE

    def surroundings(sigma):
        return ndi.gaussian_filter(work, sigma), [
            measure for factor in RING_FACTORS
            for measure in _ring_measures(coarse, covered, sigma * factor)]

    for index, (centre, measures) in enumerate(in_threads(surroundings, WORK_SIGMAS)):
        at = scales == index
        features[at, 3] = centre[rows[at], columns[at]]
        for offset, measure in enumerate(measures):
            features[at, 4 + offset] = ndi.map_coordinates(measure, at_coarse[:, at], order=1,
                                                           mode="nearest")
    sigmas = np.asarray(WORK_SIGMAS)[scales]
    features[:, -1] = np.log(sigmas)
    height, width = density.shape
    candidates = Detections(x=np.clip((columns + 0.5) * factor - 0.5, 0, width - 1),
                            y=np.clip((rows + 0.5) * factor - 0.5, 0, height - 1),
                            score=np.zeros(len(peaks)), radius=sigmas * np.sqrt(2) * factor,
                            features=features)
    return candidates, WorkField(work, rows, columns, sigmas, own)


def in_threads(function, items):
    """``[function(item) for item in items]``, in as many threads as this worker process has
    cores (scipy's filters release the GIL: the five scales of a field are filtered side by
    side). Same results as in one thread."""
    from .serving import default_threads  # the one rule for a worker process's share of cores

    threads = min(default_threads(), len(items))
    if threads < 2:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(function, items))


def _ring_measures(coarse, covered, width):
    # The surroundings in a wide Gaussian window: mean darkness, its spread (texture:
    # leukocyte clusters are lumpy, cytoplasm is smooth) and how much is not glass.
    wide = width / RING_DOWNSAMPLE
    ring_mean = ndi.gaussian_filter(coarse, wide)
    ring_square = ndi.gaussian_filter(coarse * coarse, wide)
    texture = np.sqrt(np.clip(ring_square - ring_mean ** 2, 0, None))
    return ring_mean, texture, ndi.gaussian_filter(covered, wide)


def suppress_overlaps(detections, overlap=1.0):
    """Keep the best scored of candidates closer than ``overlap`` times the larger radius.

    Greedy by score, so raising a threshold afterwards never changes which of the remaining
    detections were kept.
    """
    if len(detections) < 2:
        return detections
    points = np.column_stack([detections.x, detections.y])
    reach = overlap * detections.radius.max()
    pairs = cKDTree(points).query_pairs(reach, output_type="ndarray")
    distance = np.hypot(*(points[pairs[:, 0]] - points[pairs[:, 1]]).T)
    larger = np.maximum(detections.radius[pairs[:, 0]], detections.radius[pairs[:, 1]])
    pairs = pairs[distance < overlap * larger]
    neighbours = [[] for _ in range(len(points))]
    for first, second in pairs.tolist():
        neighbours[first].append(second)
        neighbours[second].append(first)
    suppressed = np.zeros(len(points), dtype=bool)
    kept = []
    for index in np.argsort(-detections.score, kind="stable").tolist():
        if suppressed[index]:
            continue
        kept.append(index)
        suppressed[neighbours[index]] = True
    return detections.subset(np.asarray(kept, dtype=int))


class NucleusDetector:
    """LoG nucleus candidates scored on their ring measurements (see the module doc).

    Hyperparameters in ``__init__``; :meth:`fit_scorer` (called by
    ``cell_detector_training.fit_detector``) learns the scorer, and the training sets
    ``threshold_``: the lowest score reported, fitted for ``target_recall`` of the marked
    nuclei within ``match_radius`` pixels. Subclasses differ in the scorer only.
    """
    registry_name = None

    def __init__(self, target_recall=0.96, match_radius=20.0, overlap=1.0):
        self.target_recall = target_recall
        self.match_radius = match_radius
        self.overlap = overlap

    def get_params(self):
        return {"target_recall": self.target_recall, "match_radius": self.match_radius,
                "overlap": self.overlap}

    def fit_scorer(self, features, labels):
        """Learn to tell candidates near a mark (label 1) from the others; returns self.

        Only the first-stage measurements (``FEATURE_NAMES``) are used; candidates found with
        ``find_candidates_with_context`` carry more columns, for designs that read them.
        """
        features = features[:, :len(FEATURE_NAMES)]
        self.feature_mean_ = features.mean(axis=0)
        self.feature_scale_ = features.std(axis=0) + 1e-9
        self._fit_standardised((features - self.feature_mean_) / self.feature_scale_, labels)
        return self

    def score_candidates(self, candidates):
        """``candidates`` with ``score`` set to the scorer's probability (in [0, 1])."""
        if len(candidates):
            standardised = ((candidates.features[:, :len(FEATURE_NAMES)] - self.feature_mean_)
                            / self.feature_scale_)
            candidates.score = np.clip(self._probability(standardised), 0.0, 1.0)
        return candidates

    def detect(self, image, scale=1.0, threshold=None):
        """The nuclei in ``image`` (PIL image or array, colour or grayscale, any size), as
        :class:`Detections` in the image's own pixels.

        ``scale``: how many times larger nuclei look than in CRIC (see :func:`find_candidates`).
        ``threshold`` (default the fitted ``threshold_``) is the lowest score reported.
        """
        candidates = self.score_candidates(find_candidates(image, scale=scale))
        threshold = self.threshold_ if threshold is None else threshold
        return suppress_overlaps(candidates.subset(candidates.score >= threshold), self.overlap)

    def to_dict(self):
        """Parameters and learned state as JSON-ready values (the scorer's own file aside)."""
        return {"params": self.get_params(), "features": list(FEATURE_NAMES),
                "work_downsample": WORK_DOWNSAMPLE, "work_sigmas": list(WORK_SIGMAS),
                "ring_factors": list(RING_FACTORS), "coverage_od": COVERAGE_OD,
                "feature_mean": [float(v) for v in self.feature_mean_],
                "feature_scale": [float(v) for v in self.feature_scale_],
                "threshold": float(self.threshold_), "scorer": self._scorer_state()}

    @classmethod
    def from_dict(cls, state, directory=None):
        """A fitted detector from :meth:`to_dict`'s output (and its folder, for files)."""
        if list(state["features"]) != list(FEATURE_NAMES) or \
                list(state["work_sigmas"]) != list(WORK_SIGMAS):
            raise ValueError("The detector was saved with other measurements than this code "
                             "computes; re-train it with `manage.py train_detector`.")
        detector = cls(**state["params"])
        detector.feature_mean_ = np.asarray(state["feature_mean"], dtype=np.float64)
        detector.feature_scale_ = np.asarray(state["feature_scale"], dtype=np.float64)
        detector.threshold_ = float(state["threshold"])
        detector._load_scorer(state["scorer"], directory)
        return detector


@DETECTORS.register("log-logistic")
class LogisticNucleusDetector(NucleusDetector):
    """LoG candidates scored by logistic regression on their ring measurements."""
    registry_name = "log-logistic"

    def _fit_standardised(self, features, labels):
        from sklearn.linear_model import LogisticRegression
        model = LogisticRegression(class_weight="balanced", max_iter=1000).fit(features, labels)
        self.coef_, self.intercept_ = model.coef_[0], float(model.intercept_[0])

    def _probability(self, features):
        logit = features @ np.asarray(self.coef_) + self.intercept_
        return 1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30)))

    def _scorer_state(self):
        return {"coef": [float(v) for v in self.coef_], "intercept": self.intercept_}

    def _load_scorer(self, state, directory):
        self.coef_, self.intercept_ = np.asarray(state["coef"]), float(state["intercept"])


@DETECTORS.register("log-boosted")
class BoostedNucleusDetector(NucleusDetector):
    """LoG candidates scored by small gradient-boosted trees on their ring measurements."""
    registry_name = "log-boosted"
    SCORER_FILE = "scorer.txt"
    # Negatives kept for fitting: candidates far from marks outnumber the rest 10 to 1 and
    # are alike; a sample fits as well in a tenth of the time.
    NEGATIVE_SAMPLE = 0.1

    def __init__(self, target_recall=0.965, match_radius=20.0, overlap=1.0, n_trees=100,
                 leaves=15, seed=0):
        super().__init__(target_recall, match_radius, overlap)
        self.n_trees, self.leaves, self.seed = n_trees, leaves, seed

    def get_params(self):
        return {**super().get_params(), "n_trees": self.n_trees, "leaves": self.leaves,
                "seed": self.seed}

    def _fit_standardised(self, features, labels):
        import lightgbm
        random = np.random.default_rng(self.seed)
        keep = (labels == 1) | (random.random(len(labels)) < self.NEGATIVE_SAMPLE)
        params = {"objective": "binary", "num_leaves": self.leaves, "learning_rate": 0.05,
                  "min_data_in_leaf": 50, "bagging_fraction": 0.8, "bagging_freq": 1,
                  "feature_fraction": 0.8, "seed": self.seed, "num_threads": 2,
                  "verbose": -1}
        self.booster_ = lightgbm.train(params, lightgbm.Dataset(features[keep], labels[keep]),
                                       num_boost_round=self.n_trees)

    def _probability(self, features):
        return self.booster_.predict(features)

    def _scorer_state(self):
        return {"file": self.SCORER_FILE}

    def save_files(self, directory):
        """Write the trees next to detector.json; returns {file name: None}."""
        self.booster_.save_model(str(Path(directory) / self.SCORER_FILE))
        return {self.SCORER_FILE: None}

    def _load_scorer(self, state, directory):
        import lightgbm
        self.booster_ = lightgbm.Booster(model_file=str(Path(directory) / state["file"]))


def threshold_for_recall(best_scores, recall):
    """The highest threshold keeping ``recall`` of the marks, given each mark's best score."""
    ranked = np.sort(best_scores)[::-1]
    needed = int(np.ceil(recall * len(ranked)))
    return float(ranked[max(needed - 1, 0)])


def best_score_per_mark(detector, candidates, marks):
    """Each mark's best score among ``candidates`` within ``match_radius`` after overlap
    suppression (0 where none)."""
    kept = suppress_overlaps(detector.score_candidates(candidates), detector.overlap)
    best = np.zeros(len(marks))
    if len(kept) and len(marks):
        tree = cKDTree(np.column_stack([kept.x, kept.y]))
        for index, neighbours in enumerate(tree.query_ball_point(marks, detector.match_radius)):
            if neighbours:
                best[index] = kept.score[neighbours].max()
    return best
