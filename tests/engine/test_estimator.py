import pytest

from diagnostics.engine import HybridClassifier, LightGBMHead, XGBoostHead


def test_parameters_are_the_init_arguments():
    head = LightGBMHead(n_estimators=5)
    assert list(head.get_params()) == [
        "n_estimators", "learning_rate", "num_leaves", "min_child_samples",
        "colsample_bytree", "subsample", "reg_lambda", "random_state", "n_jobs",
        "class_weight"]
    assert head.get_params()["n_estimators"] == 5
    assert set(XGBoostHead().get_params()) >= {"max_depth", "min_child_weight"}


def test_a_hybrids_parameters_reach_into_its_head_only_when_deep():
    classifier = HybridClassifier(head=LightGBMHead(n_estimators=7), image_size=64)
    shallow = classifier.get_params(deep=False)
    assert list(shallow) == ["backbone", "head", "image_size", "views", "batch_size",
                             "pretrained", "fine_tuning", "clahe", "device", "blend_explainer"]
    assert classifier.get_params()["head__n_estimators"] == 7


def test_set_params_changes_own_and_nested_parameters():
    classifier = HybridClassifier(head=LightGBMHead())
    assert classifier.set_params(image_size=96, head__num_leaves=4) is classifier
    assert classifier.image_size == 96 and classifier.head.num_leaves == 4


def test_an_unknown_parameter_is_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="no parameter 'depth'; valid: .*num_leaves"):
        LightGBMHead().set_params(depth=3)


def test_clone_copies_the_parameters_not_the_objects():
    head = LightGBMHead(n_estimators=9)
    classifier = HybridClassifier(head=head, views=["identity", "hflip"])
    copy = classifier.clone()
    assert copy.get_params()["head__n_estimators"] == 9 and copy.views == classifier.views
    assert copy.head is not head
