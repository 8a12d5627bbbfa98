"""What a nucleus candidate looks like up close: the second stage's measurements.

The first stage (``cell_detector.find_candidates``) measures each LoG peak by its blob
strength and the smoothed darkness around it. What it reported but was not a marked nucleus
(bench/README.md) was mostly leukocytes in clusters, granules and texture in the cytoplasm next
to a nucleus, and debris. Those differ from a squamous nucleus up close, at the work resolution
and at the candidate's own scale (so a rescaled image measures alike):

- its radial profile: darkness at 0, 0.5, 1, 1.5, 2 and 3 nucleus radii, and how even it is
  around the circle (a nucleus has a clear edge and even cytoplasm around it; a granule in
  cytoplasm has no edge; a leukocyte has other dark blobs at 1.5-3 radii);
- its shape, from the dark region holding the centre when the patch is cut halfway between the
  centre's and the cytoplasm's darkness: area against the blob's scale, elongation, ragged
  outline, how far the region's centre lies off the candidate, whether it runs off the patch
  (a fold or a clump rather than a nucleus), mean and spread of darkness inside;
- its neighbours: how many other candidates of some strength lie within 16 and 32 work pixels
  (leukocytes come in clusters) and how far the nearest stronger one is (texture next to a
  nucleus is a weaker peak a few pixels from a stronger one).

Every measurement is done on all candidates at once (no Python loop per candidate).
"""

from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree

from .cell_detector import (DETECTORS, FEATURE_NAMES, BoostedNucleusDetector,
                            best_score_per_mark, threshold_for_recall,
                            candidates_and_work, suppress_overlaps)

# Radii of the profile, in nucleus radii (a blob of sigma s has radius s * sqrt(2)).
PROFILE_RADII = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
PROFILE_ANGLES = 12
# Half the side of the square patch cut around each candidate, in work pixels (the largest
# LoG blob has radius 11 px there).
PATCH_HALF = 15
# Neighbour counts: response levels and distances (work pixels).
NEIGHBOUR_LEVELS = (0.05, 0.15, 0.3)
NEIGHBOUR_DISTANCES = (16.0, 32.0)
NEAREST_STRONGER_CAP = 40.0

CONTEXT_FEATURE_NAMES = (
    *(f"profile{radius:g}" for radius in PROFILE_RADII),
    *(f"evenness{radius:g}" for radius in PROFILE_RADII[2:]),
    "edge_contrast", "region_area", "region_elongation", "region_ragged", "region_offset",
    "region_runs_off", "region_od", "region_spread", "patch_dark_fraction",
    *(f"neighbours{level:g}_{distance:g}" for level in NEIGHBOUR_LEVELS
      for distance in NEIGHBOUR_DISTANCES),
    "nearest_stronger",
)


def find_candidates_with_context(image, scale=1.0):
    """``cell_detector.find_candidates`` with each candidate's patch measurements appended
    (N, len(FEATURE_NAMES) + len(CONTEXT_FEATURE_NAMES)): the columns this design reads."""
    candidates, work = candidates_and_work(image, scale)
    candidates.features = np.hstack([candidates.features,
                                     context_features(work, np.arange(len(candidates)))])
    return candidates


def context_features(field, which):
    """(len(which), len(CONTEXT_FEATURE_NAMES)) float32 measurements of the candidates
    ``which`` (indices into ``field``, a ``cell_detector.WorkField``)."""
    rows = field.rows[which].astype(np.float32)
    columns = field.columns[which].astype(np.float32)
    radius = (field.sigmas[which] * np.sqrt(2)).astype(np.float32)
    if not len(rows):
        return np.zeros((0, len(CONTEXT_FEATURE_NAMES)), dtype=np.float32)
    profile, evenness = _radial_profile(field.density, rows, columns, radius)
    shape = _region_shape(field.density, rows.astype(int), columns.astype(int), radius,
                          threshold=(profile[:, 0] + profile[:, 4]) / 2)
    neighbours = _neighbours(field, which)
    edge_contrast = profile[:, :2].mean(axis=1) - profile[:, 3]
    return np.column_stack([profile, evenness, edge_contrast, shape, neighbours]).astype(
        np.float32)


def _radial_profile(density, rows, columns, radius):
    angles = np.linspace(0, 2 * np.pi, PROFILE_ANGLES, endpoint=False)
    reach = np.asarray(PROFILE_RADII)[None, :, None] * radius[:, None, None]
    at_rows = rows[:, None, None] + reach * np.sin(angles)
    at_columns = columns[:, None, None] + reach * np.cos(angles)
    values = ndi.map_coordinates(density, [at_rows.ravel(), at_columns.ravel()], order=1,
                                 mode="nearest").reshape(at_rows.shape)
    mean = values.mean(axis=2)
    # Unevenness around the circle, relative to the darkness there.
    evenness = values[:, 2:].std(axis=2) / (np.abs(mean[:, 2:]) + 0.05)
    return mean, evenness


def _region_shape(density, rows, columns, radius, threshold):
    side = 2 * PATCH_HALF + 1
    padded = np.pad(density, PATCH_HALF, mode="edge")
    offsets = np.arange(side)
    patches = padded[rows[:, None, None] + offsets[None, :, None],
                     columns[:, None, None] + offsets[None, None, :]]
    dark = patches > threshold[:, None, None]
    # Label each patch on its own: a structure that never links two patches.
    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = ndi.generate_binary_structure(2, 1)
    labels, _ = ndi.label(dark, structure=structure)
    centre = labels[:, PATCH_HALF, PATCH_HALF]
    region = (labels == centre[:, None, None]) & (centre[:, None, None] > 0)
    area = region.sum(axis=(1, 2)).astype(np.float32)
    safe_area = np.maximum(area, 1.0)
    grid_rows, grid_columns = np.meshgrid(offsets - PATCH_HALF, offsets - PATCH_HALF,
                                          indexing="ij")
    mean_row = (region * grid_rows).sum(axis=(1, 2)) / safe_area
    mean_column = (region * grid_columns).sum(axis=(1, 2)) / safe_area
    var_row = (region * grid_rows ** 2).sum(axis=(1, 2)) / safe_area - mean_row ** 2
    var_column = (region * grid_columns ** 2).sum(axis=(1, 2)) / safe_area - mean_column ** 2
    covariance = (region * grid_rows * grid_columns).sum(axis=(1, 2)) / safe_area - \
        mean_row * mean_column
    spread = np.sqrt(((var_row - var_column) / 2) ** 2 + covariance ** 2)
    larger = (var_row + var_column) / 2 + spread
    smaller = np.maximum((var_row + var_column) / 2 - spread, 0)
    elongation = 1 - np.sqrt(smaller / np.maximum(larger, 1e-6))
    inner = ndi.binary_erosion(region, structure=structure)
    outline = (region & ~inner).sum(axis=(1, 2))
    ragged = outline ** 2 / (4 * np.pi * safe_area)
    edges = np.concatenate([region[:, 0, :], region[:, -1, :], region[:, :, 0],
                            region[:, :, -1]], axis=1)
    inside = np.where(region, patches, 0).sum(axis=(1, 2)) / safe_area
    inside_square = np.where(region, patches ** 2, 0).sum(axis=(1, 2)) / safe_area
    inside_spread = np.sqrt(np.clip(inside_square - inside ** 2, 0, None))
    return np.column_stack([
        area / (np.pi * radius ** 2), elongation, ragged,
        np.hypot(mean_row, mean_column) / radius, edges.any(axis=1), inside,
        inside_spread / (np.abs(inside) + 0.05), dark.mean(axis=(1, 2))])


def _neighbours(field, which):
    points = np.column_stack([field.rows, field.columns]).astype(np.float32)
    own = field.response[which]
    columns = []
    for level in NEIGHBOUR_LEVELS:
        strong = field.response >= level
        tree = cKDTree(points[strong]) if strong.any() else None
        for distance in NEIGHBOUR_DISTANCES:
            if tree is None:
                columns.append(np.zeros(len(which)))
                continue
            count = tree.query_ball_point(points[which], distance, return_length=True)
            columns.append(count - (own >= level))  # not itself
    neighbours_k = min(16, len(points))
    distance, index = cKDTree(points).query(points[which], k=neighbours_k)
    distance, index = distance.reshape(len(which), -1), index.reshape(len(which), -1)
    stronger = field.response[index] > own[:, None]
    nearest = np.where(stronger, distance, np.inf).min(axis=1)
    columns.append(np.minimum(nearest, NEAREST_STRONGER_CAP))
    return np.column_stack(columns)


@DETECTORS.register("log-context-boosted")
class ContextNucleusDetector(BoostedNucleusDetector):
    """LoG candidates scored in two stages: boosted trees on their ring measurements, then on
    the patch around each survivor (profile, shape, neighbours)."""
    registry_name = "log-context-boosted"
    CONTEXT_SCORER_FILE = "scorer_context.txt"
    # Survivors of the first stage are fewer and harder; more of the negatives are kept.
    CONTEXT_NEGATIVE_SAMPLE = 0.3
    needs_context = True

    def __init__(self, target_recall=0.96, match_radius=20.0, overlap=1.0, n_trees=100,
                 leaves=15, seed=0, prefilter_recall=0.995, context_trees=100,
                 context_leaves=15, inner_folds=2):
        super().__init__(target_recall, match_radius, overlap, n_trees, leaves, seed)
        self.prefilter_recall = prefilter_recall
        self.context_trees, self.context_leaves = context_trees, context_leaves
        self.inner_folds = inner_folds

    def get_params(self):
        return {**super().get_params(), "prefilter_recall": self.prefilter_recall,
                "context_trees": self.context_trees, "context_leaves": self.context_leaves,
                "inner_folds": self.inner_folds}

    def fit_fields(self, candidate_sets, mark_sets, labels_for):
        """Fit both stages on fields' candidates (found by ``find_candidates_with_context``) and marks;
        ``labels_for(candidates, marks)`` gives each candidate's 0/1 label. The threshold
        is fitted on scores of fields left out of an inner grouped split (the two stages fit
        their own fields too closely for an in-sample threshold); returns self."""
        order = np.random.default_rng(self.seed).permutation(len(candidate_sets))
        best = []
        for inner in np.array_split(order, self.inner_folds):
            fitting = np.setdiff1d(order, inner)
            part = type(self)(**self.get_params())._fit_stages(
                [candidate_sets[i] for i in fitting], [mark_sets[i] for i in fitting],
                labels_for)
            best += [best_score_per_mark(part, candidate_sets[i], mark_sets[i])
                     for i in inner]
        self._fit_stages(candidate_sets, mark_sets, labels_for)
        self.threshold_ = threshold_for_recall(np.concatenate(best), self.target_recall)
        return self

    def _fit_stages(self, candidate_sets, mark_sets, labels_for):
        import lightgbm
        labels = [labels_for(c, m) for c, m in zip(candidate_sets, mark_sets)]
        self.fit_scorer(np.concatenate([c.features for c in candidate_sets]),
                        np.concatenate(labels))
        self.prefilter_, self.context_booster_ = 0.0, None
        first = [self._first_stage(c.features) for c in candidate_sets]
        best = [best_score_per_mark(self, c, m) for c, m in zip(candidate_sets, mark_sets)]
        # Of the marks with any candidate near them (some marks have none: no stage helps).
        best = np.concatenate(best)
        self.prefilter_ = threshold_for_recall(best[best > 0], self.prefilter_recall)
        kept = [score >= self.prefilter_ for score in first]
        features = np.concatenate([c.features[k] for c, k in zip(candidate_sets, kept)])
        survivors = np.concatenate([label[k] for label, k in zip(labels, kept)])
        random = np.random.default_rng(self.seed)
        sample = (survivors == 1) | (random.random(len(survivors)) <
                                     self.CONTEXT_NEGATIVE_SAMPLE)
        params = {"objective": "binary", "num_leaves": self.context_leaves,
                  "learning_rate": 0.05, "min_data_in_leaf": 50, "bagging_fraction": 0.8,
                  "bagging_freq": 1, "feature_fraction": 0.8, "seed": self.seed,
                  "num_threads": 2, "verbose": -1}
        self.context_booster_ = lightgbm.train(
            params, lightgbm.Dataset(features[sample], survivors[sample]),
            num_boost_round=self.context_trees)
        return self

    def _first_stage(self, features):
        standardised = (features[:, :len(FEATURE_NAMES)] - self.feature_mean_) / \
            self.feature_scale_
        return self._probability(standardised)

    def score_candidates(self, candidates):
        """Scores of candidates found by ``find_candidates_with_context``: the second stage's probability
        for those passing the first stage's ``prefilter_``, 0 for the others."""
        score = np.zeros(len(candidates))
        if len(candidates):
            first = self._first_stage(candidates.features)
            kept = first >= self.prefilter_
            if getattr(self, "context_booster_", None) is not None and kept.any():
                score[kept] = self.context_booster_.predict(candidates.features[kept])
            else:  # while the first stage alone is being fitted
                score = first
        candidates.score = np.clip(score, 0.0, 1.0)
        return candidates

    def detect(self, image, scale=1.0, threshold=None):
        """As :meth:`NucleusDetector.detect`; the patch measurements are taken only for the
        candidates passing the first stage (a few hundred of some thousands)."""
        candidates, work = candidates_and_work(image, scale)
        score = np.zeros(len(candidates))
        kept = np.flatnonzero(self._first_stage(candidates.features) >= self.prefilter_)
        if len(kept):
            features = np.hstack([candidates.features[kept], context_features(work, kept)])
            score[kept] = self.context_booster_.predict(features)
        candidates.score = np.clip(score, 0.0, 1.0)
        threshold = self.threshold_ if threshold is None else threshold
        return suppress_overlaps(candidates.subset(candidates.score >= threshold),
                                 self.overlap)

    def to_dict(self):
        return {**super().to_dict(), "context_features": list(CONTEXT_FEATURE_NAMES),
                "prefilter": float(self.prefilter_)}

    @classmethod
    def from_dict(cls, state, directory=None):
        if list(state["context_features"]) != list(CONTEXT_FEATURE_NAMES):
            raise ValueError("The detector was saved with other patch measurements than this "
                             "code computes; re-train it with `manage.py train_detector`.")
        detector = super().from_dict(state, directory)
        detector.prefilter_ = float(state["prefilter"])
        return detector

    def _scorer_state(self):
        return {**super()._scorer_state(), "context_file": self.CONTEXT_SCORER_FILE}

    def save_files(self, directory):
        """Write both stages' trees next to detector.json; returns {file name: None}."""
        files = super().save_files(directory)
        self.context_booster_.save_model(str(Path(directory) / self.CONTEXT_SCORER_FILE))
        return {**files, self.CONTEXT_SCORER_FILE: None}

    def _load_scorer(self, state, directory):
        import lightgbm
        super()._load_scorer(state, directory)
        self.context_booster_ = lightgbm.Booster(
            model_file=str(Path(directory) / state["context_file"]))
