"""The model cache: bounded LRU, one load per model under concurrency, faster runtime parity."""

import io
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from inference import serving
from tests.conftest import S3_TESTS

from .conftest import colour_jpeg

pytestmark = pytest.mark.django_db


def images():
    return [Image.open(io.BytesIO(colour_jpeg(c, seed=i))) for i, c in
            enumerate(["red", "green", "blue", "red"])]  # fmt: skip


def test_it_loads_once_under_concurrent_requests(published, monkeypatch):
    calls = []
    real = serving.load_model

    def counting(**kwargs):
        calls.append(kwargs["key"])
        return real(**kwargs)

    monkeypatch.setattr(serving, "load_model", counting)
    cache = serving.ModelCache(2)
    monkeypatch.setattr(serving, "cache", cache)
    assert published.run.labels  # loaded here: the threads have no test transaction
    with ThreadPoolExecutor(4) as pool:
        models = list(pool.map(lambda _: serving.get_model(published), range(8)))
    assert len(calls) == 1 and all(m is models[0] for m in models)
    # Predictions from several threads at once agree.
    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda _: models[0].predict(images()), range(8)))
    assert all(np.allclose(o, outs[0]) for o in outs)


def test_it_evicts_the_least_recently_used(ai, make_version, monkeypatch):
    versions = [make_version(ai) for _ in range(3)]
    cache = serving.ModelCache(2)
    monkeypatch.setattr(serving, "cache", cache)
    for v in versions:
        serving.get_model(v)
    assert [k[0] for k in cache.keys()] == [versions[1].pk, versions[2].pk]
    serving.get_model(versions[1])
    assert [k[0] for k in cache.keys()] == [versions[2].pk, versions[1].pk]


def test_it_warms_a_model_in_the_background(published, monkeypatch):
    cache = serving.ModelCache(2)
    monkeypatch.setattr(serving, "cache", cache)
    serving.warm_in_background(published).join(timeout=60)
    assert [k[0] for k in cache.keys()] == [published.pk]


@pytest.mark.skipif(S3_TESTS, reason="reads the model through a local path")
def test_onnx_runtime_gives_the_same_probabilities_as_keras(published):
    import keras

    from inference.services import version_preprocessing  # noqa: F401 - import check

    fast = serving.load_model(key=(0, "onnx"), model_path=published.model_path,
                              labels=published.labels, runtime="onnx")  # fmt: skip
    assert fast.runtime == "onnx"
    x = fast.preprocess(images())
    from django.core.files.storage import default_storage

    model = keras.saving.load_model(default_storage.path(published.model_path), safe_mode=True)
    reference = np.asarray(model.predict(x, verbose=0))
    np.testing.assert_allclose(fast.predict_array(x), reference, atol=1e-4)
    keras_served = serving.get_model(published)
    np.testing.assert_allclose(keras_served.predict_array(x), reference, atol=1e-4)


def test_it_reports_a_missing_model_file(published):
    from django.core.files.storage import default_storage

    default_storage.delete(published.model_path)
    with pytest.raises(serving.ModelUnavailable):
        serving.get_model(published)


def test_it_refuses_models_with_code_in_them(published, tmp_path):
    """safe_mode=True: a Lambda layer (arbitrary code) cannot be loaded."""
    import keras
    from django.core.files.storage import default_storage

    inp = keras.Input((32, 32, 3))
    out = keras.layers.Lambda(lambda t: t[:, 0, 0, :])(inp)
    path = tmp_path / "evil.keras"
    keras.Model(inp, out).save(path)
    default_storage.delete(published.model_path)
    default_storage.save(published.model_path, open(path, "rb"))  # noqa: SIM115
    with pytest.raises(serving.ModelUnavailable):
        serving.get_model(published)


def test_it_predicts_a_prediction_in_under_a_second(published):
    serving.get_model(published)
    done = threading.Event()
    from inference import services

    out = services.prediction_create(project=published.project, data=colour_jpeg("red"),
                                     user=None)  # fmt: skip
    done.set()
    assert out.duration_ms < 1000


def test_a_fresh_process_serves_a_prepared_version_without_converting(
    published, monkeypatch, settings
):
    from django.core.files.storage import default_storage

    from inference import export, services

    settings.AIMAKER_SERVING_RUNTIME = "onnx"
    assert services.model_version_prepare_serving(version=published)
    artifact = published.artifact("model.onnx")
    assert artifact == serving.onnx_artifact_path(published.model_path)
    assert default_storage.exists(artifact)  # next to model.keras
    assert not [n for n in default_storage.listdir(published.artifact(""))[1] if ".part" in n]

    # A server restart: an empty cache, and converting is not allowed any more.
    monkeypatch.setattr(serving, "cache", serving.ModelCache(2))

    def no_conversion(model):
        raise AssertionError("the first prediction converted the model")

    monkeypatch.setattr(export, "keras_to_onnx_bytes", no_conversion)
    outcome = services.prediction_create(
        project=published.project, data=colour_jpeg("blue"), user=published.project.owner
    )
    assert outcome.ranked[0][0] == "blue"
    assert serving.get_model(published).runtime == "onnx"


def test_an_older_version_is_converted_once_and_stored(published, monkeypatch, settings):
    from django.core.files.storage import default_storage

    from inference import export

    settings.AIMAKER_SERVING_RUNTIME = "onnx"
    monkeypatch.setattr(serving, "cache", serving.ModelCache(2))
    calls = []
    real = export.keras_to_onnx_bytes
    monkeypatch.setattr(export, "keras_to_onnx_bytes", lambda m: calls.append(1) or real(m))
    assert serving.get_model(published).runtime == "onnx" and len(calls) == 1
    assert default_storage.exists(published.artifact("model.onnx"))
    monkeypatch.setattr(serving, "cache", serving.ModelCache(2))  # a restart
    assert serving.get_model(published).predict(images()).shape == (4, 3) and len(calls) == 1


@pytest.mark.django_db(transaction=True)
def test_the_server_warms_the_default_models_as_it_starts(published, monkeypatch):
    cache = serving.ModelCache(2)
    monkeypatch.setattr(serving, "cache", cache)
    serving.warm_defaults_in_background().join(timeout=60)
    assert [k[0] for k in cache.keys()] == [published.pk]


def test_it_lets_idle_model_threads_sleep_so_web_processes_share_the_cores(settings):
    import onnxruntime as ort

    settings.AIMAKER_SERVING_THREADS = 2
    options = serving._session_options(ort)
    assert options.intra_op_num_threads == 2
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
