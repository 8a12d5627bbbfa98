import numpy as np
import pytest

from diagnostics.engine import list_image_folder, load_classifier
from diagnostics.engine.precision import (BFLOAT16, FLOAT32, cpu_flags, native_bfloat16,
                                          resolve_precision)
from tests.engine.test_shipped_model import SHIPPED_MODEL_DIR


@pytest.fixture(scope="module")
def shipped():
    return load_classifier(SHIPPED_MODEL_DIR)


@pytest.fixture(scope="module")
def cells(tiny_dataset_dir):
    return list(list_image_folder(tiny_dataset_dir).images())


def test_auto_picks_bfloat16_only_where_the_cpu_computes_it_natively():
    assert resolve_precision("auto", flags={"avx2", "amx_bf16"}) == BFLOAT16
    assert resolve_precision("auto", flags={"avx2", "avx512_bf16"}) == BFLOAT16
    assert resolve_precision("auto", flags={"avx2", "avx512f"}) == FLOAT32
    assert resolve_precision("bfloat16", flags=set()) == BFLOAT16  # asked for: emulated


def test_an_unknown_precision_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="auto, float32, bfloat16"):
        resolve_precision("float16")


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_bf16\n")
    assert cpu_flags(cpuinfo) == {"fpu", "avx2", "amx_bf16"}
    assert native_bfloat16(cpu_flags(cpuinfo))
    assert cpu_flags(tmp_path / "missing") == set()


def test_the_engine_predicts_in_float32_unless_told(shipped):
    assert shipped.inference_precision == FLOAT32


def test_bfloat16_predictions_stay_close_to_float32(shipped, cells):
    reference = shipped.predict_proba(cells)
    shipped.set_inference_precision(BFLOAT16)
    try:
        fast = shipped.predict_proba(cells)
    finally:
        shipped.set_inference_precision(FLOAT32)
    assert fast.dtype == np.float64
    np.testing.assert_allclose(fast.sum(axis=1), 1.0)
    assert np.mean(fast.argmax(axis=1) == reference.argmax(axis=1)) >= 0.95
    np.testing.assert_allclose(shipped.predict_proba(cells), reference)  # float32 is back
