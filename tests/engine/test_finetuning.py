"""Fine-tuning's epochs: every cell once, or a fixed number drawn with rare classes
favoured; and a backbone fine-tuned further no longer shares its parent's pass."""
import copy

import pytest
import torch

from diagnostics.engine.designs import create_hybrid
from diagnostics.engine.finetuning import FineTuning, _epoch_order, _steps_per_epoch
from diagnostics.engine.serving import metadata_reads_pass_of

# CRIC's shape: 3,555 NILM cells and 63 SCC.
LABELS = torch.tensor([0] * 3555 + [1] * 63)


def test_by_default_an_epoch_is_every_cell_once_in_a_random_order():
    settings = FineTuning()
    order = _epoch_order(LABELS, settings, torch.Generator().manual_seed(0))
    assert sorted(order.tolist()) == list(range(len(LABELS)))
    assert _steps_per_epoch(len(LABELS), settings) == -(-len(LABELS) // settings.batch_size)


def test_sqrt_balance_draws_rare_classes_in_proportion_to_the_root_of_their_count():
    settings = FineTuning(samples_per_epoch=20000, class_balance="sqrt")
    order = _epoch_order(LABELS, settings, torch.Generator().manual_seed(0))
    assert len(order) == 20000 and _steps_per_epoch(len(LABELS), settings) == 625
    share = float((LABELS[order] == 1).float().mean())
    expected = 63 ** 0.5 / (63 ** 0.5 + 3555 ** 0.5)  # about 0.118, against 0.017 unbalanced
    assert share == pytest.approx(expected, abs=0.01)


def test_an_unknown_balance_is_refused():
    with pytest.raises(ValueError, match="class_balance"):
        _epoch_order(LABELS, FineTuning(class_balance="inverse"), torch.Generator())


def test_the_fine_tuned_bethesda_design_balances_its_epochs():
    recipe = create_hybrid("bethesda-sipakmed_stages-finetuned-lightgbm", pretrained=False)
    assert recipe.fine_tuning.class_balance == "sqrt"
    assert recipe.fine_tuning.samples_per_epoch == 2400
    assert recipe.head.get_params()["class_weight"] == "balanced"
    assert FineTuning.from_dict(recipe.fine_tuning.to_dict()) == recipe.fine_tuning


def _metadata(num_features, weights_sha256=None, fine_tuned_sha256=None):
    backbone = {"num_features": num_features, "weights_sha256": weights_sha256}
    if fine_tuned_sha256:
        backbone["fine_tuned"] = {"sha256": fine_tuned_sha256}
    return {"backbone": backbone,
            "preprocessing": {"image_size": 128, "views": ["identity"]}}


def test_a_reader_of_the_morphology_weights_shares_its_pass_until_it_is_fine_tuned_itself():
    morphology = _metadata(1280, "imagenet", fine_tuned_sha256="sipakmed")
    frozen_reader = _metadata(2528, weights_sha256="sipakmed")
    assert metadata_reads_pass_of(frozen_reader, morphology)
    fine_tuned_reader = copy.deepcopy(frozen_reader)
    fine_tuned_reader["backbone"]["fine_tuned"] = {"sha256": "sipakmed-then-cric"}
    assert not metadata_reads_pass_of(fine_tuned_reader, morphology)
