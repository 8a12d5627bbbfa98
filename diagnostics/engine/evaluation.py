"""Validation figures: grouped cross-validation of a head and classification metrics."""

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.metrics import precision_recall_fscore_support



def classification_metrics(true_labels, predicted_labels, classes):
    """Accuracy, macro-F1, per-class precision/recall/F1/support and confusion matrix.

    Confusion matrix rows are true classes, columns predicted classes, both in ``classes``
    order.
    """
    true_labels, predicted_labels = np.asarray(true_labels), np.asarray(predicted_labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        true_labels, predicted_labels, labels=classes, zero_division=0)
    per_class = {
        name: {"precision": float(precision[i]), "recall": float(recall[i]),
               "f1": float(f1[i]), "support": int(support[i])}
        for i, name in enumerate(classes)
    }
    return {
        "accuracy": float(accuracy_score(true_labels, predicted_labels)),
        "macro_f1": float(f1_score(true_labels, predicted_labels, labels=classes,
                                   average="macro", zero_division=0)),
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(true_labels, predicted_labels,
                                             labels=classes).tolist(),
    }


def cross_validate(classifier, features, labels, folds):
    """Out-of-fold metrics of an unfitted :class:`HybridClassifier` on precomputed features.

    ``features`` is (n_views, n, d) as returned by ``extract_features``. Every image is
    predicted once, by a copy of ``classifier`` fitted on the folds that exclude its group;
    the pooled predictions give the figures, and per-fold accuracies show their spread.
    """
    labels = np.asarray(labels)
    classes = sorted(set(labels.tolist()))
    predicted = np.empty(len(labels), dtype=object)
    fold_accuracies = []
    for train_index, validation_index in folds:
        fold_classifier = type(classifier)(**classifier.get_params())
        fold_classifier.fit_features(features[:, train_index], labels[train_index])
        probabilities = fold_classifier.predict_proba_features(features[:, validation_index])
        predicted[validation_index] = np.asarray(fold_classifier.classes_)[
            probabilities.argmax(axis=1)]
        fold_accuracies.append(float(np.mean(
            predicted[validation_index] == labels[validation_index])))
    metrics = classification_metrics(labels, predicted.astype(str), classes)
    metrics["per_fold_accuracy"] = fold_accuracies
    return metrics


def evaluate(classifier, images, labels):
    """Metrics of a fitted classifier on labelled PIL images (an independent test set)."""
    predicted = classifier.predict(images)
    return classification_metrics(labels, predicted, list(classifier.classes_))


def format_validation_table(metrics, classes=None):
    """A plain-text table of per-class precision/recall/F1 and the overall figures."""
    classes = classes or list(metrics["per_class"])
    width = max(len(name) for name in classes + ["macro-F1"])
    lines = [f"{'class':<{width}}  precision  recall     F1  support"]
    for name in classes:
        row = metrics["per_class"][name]
        lines.append(f"{name:<{width}}  {row['precision']:9.3f}  {row['recall']:6.3f}  "
                     f"{row['f1']:5.3f}  {row['support']:7d}")
    lines.append(f"{'accuracy':<{width}}  {metrics['accuracy']:.3f}")
    lines.append(f"{'macro-F1':<{width}}  {metrics['macro_f1']:.3f}")
    if "per_fold_accuracy" in metrics:
        folds = metrics["per_fold_accuracy"]
        lines.append(f"per-fold accuracy: {', '.join(f'{a:.3f}' for a in folds)} "
                     f"(sd {np.std(folds):.3f})")
    lines.append("confusion matrix (rows true, columns predicted, in class order above):")
    lines.extend("  " + " ".join(f"{count:5d}" for count in row)
                 for row in metrics["confusion_matrix"])
    return "\n".join(lines)
