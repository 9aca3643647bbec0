"""Exports: every format loads back with its own runtime and agrees with the served model."""

import io
import json
import zipfile

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from inference import jobs, services, serving
from inference.models import ModelVersion
from projects.models import Job
from tests.conftest import S3_TESTS

from .conftest import colour_jpeg

pytestmark = pytest.mark.django_db


def served_and_inputs(version):
    model = serving.get_model(version)
    imgs = [Image.open(io.BytesIO(colour_jpeg(c, seed=3))) for c in ("red", "green", "blue")]
    x = model.preprocess(imgs)
    return model.predict_array(x), x


def unzip(version, fmt, tmp_path):
    name = services.export_build(version=version, fmt=fmt)
    out = tmp_path / fmt
    with default_storage.open(name, "rb") as f, zipfile.ZipFile(f) as zf:
        zf.extractall(out)
    assert json.loads((out / "labels.json").read_text()) == ["red", "green", "blue"]
    assert json.loads((out / "preprocessing.json").read_text())["input_size"] == 32
    readme = (out / "README.md").read_text()
    assert "```python" in readme and "shorter side" in readme
    return out


def test_it_exports_keras(published, tmp_path):
    import keras

    expected, x = served_and_inputs(published)
    out = unzip(published, "keras", tmp_path)
    model = keras.saving.load_model(out / "model.keras", safe_mode=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-3)


def test_it_exports_a_savedmodel(published, tmp_path):
    import tensorflow as tf

    expected, x = served_and_inputs(published)
    out = unzip(published, "savedmodel", tmp_path)
    model = tf.saved_model.load(str(out / "saved_model"))
    np.testing.assert_allclose(model.serve(tf.constant(x)).numpy(), expected, atol=1e-3)


def test_it_exports_tflite_with_quantized_variants(published, tmp_path):
    import tensorflow as tf

    expected, x = served_and_inputs(published)
    out = unzip(published, "tflite", tmp_path)
    for name, atol in (("model.tflite", 1e-3), ("model_float16.tflite", 2e-2),
                       ("model_dynamic_range.tflite", 5e-2)):  # fmt: skip
        interpreter = tf.lite.Interpreter(model_path=str(out / name))
        inp = interpreter.get_input_details()[0]
        interpreter.resize_tensor_input(inp["index"], list(x.shape))
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        np.testing.assert_allclose(got, expected, atol=atol, err_msg=name)


def test_it_exports_onnx(published, tmp_path):
    import onnxruntime as ort

    expected, x = served_and_inputs(published)
    stored = serving.onnx_artifact_write(model_path=published.model_path)
    out = unzip(published, "onnx", tmp_path)
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, expected, atol=1e-3)
    # What serves the version is what downloads: the stored ONNX file, not a new conversion.
    with default_storage.open(stored, "rb") as f:
        assert (out / "model.onnx").read_bytes() == f.read()


def _export_job(version, fmt):
    return Job.objects.filter(kind=Job.Kind.MODEL_EXPORT, params__version_id=version.pk,
                              params__fmt=fmt).latest("pk")  # fmt: skip


def test_it_builds_lazily_in_the_background_then_downloads(
    owner_client, published, ai, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []

    class Queue:
        def enqueue(self, func, *args, **kwargs):
            queued.append((func, args, kwargs["job_id"]))

    import django_rq

    monkeypatch.setattr(django_rq, "get_queue", lambda name: Queue())
    url = reverse("inference:export", args=[ai.pk, 1, "keras"])
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.get(url)
    assert response.status_code == 202 and b"Preparing" in response.content
    job = _export_job(published, "keras")  # a row of its own, shown with the project's jobs
    assert job.status == Job.Status.QUEUED and job.title == "Keras 3 (.keras) export of v1"
    assert queued == [("inference.jobs.export_build", (job.pk,), f"aimaker-job-{job.pk}")]
    assert owner_client.get(url).status_code == 202 and len(queued) == 1  # not queued twice
    jobs.export_build(job.pk)  # what the worker runs
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.done == job.total == 1
    response = owner_client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as zf:
        assert {"model.keras", "labels.json", "preprocessing.json", "README.md"} <= set(
            zf.namelist()
        )


def test_its_waiting_page_ends_in_a_downloaded_state_not_a_spinner(
    owner_client, published, ai, monkeypatch, django_capture_on_commit_callbacks
):
    import django_rq

    class Queue:
        def enqueue(self, func, *args, **kwargs):
            pass

    monkeypatch.setattr(django_rq, "get_queue", lambda name: Queue())
    url = reverse("inference:export", args=[ai.pk, 1, "keras"])
    with django_capture_on_commit_callbacks(execute=True):
        page = owner_client.get(url)
    body = page.content.decode()
    assert page.status_code == 202
    # It polls, then says "Downloaded" with a way to download again; no endless reloads
    # unless scripts are off (then a note says the download means it is done).
    assert '<div id="export-ready" hidden>' in body and "Downloaded Keras" in body
    assert f'id="download-again" href="{url}"' in body and "colours-v1-keras.zip" in body
    assert '<noscript><meta http-equiv="refresh"' in body
    assert owner_client.get(url + "?state=1").json() == {"state": "building"}
    jobs.export_build(_export_job(published, "keras").pk)  # what the worker runs
    assert owner_client.get(url + "?state=1").json() == {"state": "ready"}
    assert owner_client.get(url)["Content-Disposition"].startswith("attachment")
    other = reverse("inference:export", args=[ai.pk, 1, "onnx"])
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.get(other + "?state=1").json() == {"state": "building"}
    monkeypatch.setattr(services, "export_build", broken_build)
    jobs.export_build(_export_job(published, "onnx").pk)  # the worker's build fails
    answer = owner_client.get(other + "?state=1").json()
    assert answer["state"] == "failed" and "failed" in answer["message"]


def broken_build(*, version, fmt):
    raise RuntimeError("converter crashed")


def test_it_says_when_a_background_build_failed_instead_of_waiting_forever(
    owner_client, published, ai, monkeypatch, django_capture_on_commit_callbacks
):
    import django_rq

    queued = []

    class Queue:
        def enqueue(self, func, *args, **kwargs):
            queued.append(func)

    monkeypatch.setattr(django_rq, "get_queue", lambda name: Queue())
    url = reverse("inference:export", args=[ai.pk, 1, "tflite"])
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.get(url)
    monkeypatch.setattr(services, "export_build", broken_build)
    jobs.export_build(_export_job(published, "tflite").pk)  # the worker's build fails
    assert _export_job(published, "tflite").status == Job.Status.FAILED
    queued.clear()
    response = owner_client.get(url, follow=True)
    assert response.redirect_chain and response.status_code == 200
    assert b"export of v1 failed" in response.content and not queued
    # The failed build is forgotten: asking again builds it again.
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.get(url).status_code == 202
    assert queued


@pytest.mark.django_db(transaction=True)  # queued on commit, as in production
def test_it_explains_an_unavailable_queue_instead_of_a_500(owner_client, published, ai,
                                                          monkeypatch):  # fmt: skip
    import django_rq
    from redis.exceptions import ConnectionError as RedisConnectionError

    def down(name):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(django_rq, "get_queue", down)
    owner_client.raise_request_exception = False
    response = owner_client.get(reverse("inference:export", args=[ai.pk, 1, "onnx"]), follow=True)
    assert response.status_code == 200 and b"unavailable" in response.content


def test_it_is_404_for_others_and_for_public_visitors(other_client, client, published, ai,
                                                      public_published, public_ai):  # fmt: skip
    assert other_client.get(reverse("inference:export", args=[ai.pk, 1, "onnx"])).status_code == 404
    public = reverse("inference:export", args=[public_ai.pk, 1, "onnx"])
    assert other_client.get(public).status_code == 404
    assert client.get(public).status_code == 404


def test_it_is_404_for_an_unknown_format(owner_client, published, ai):
    assert (
        owner_client.get(reverse("inference:export", args=[ai.pk, 1, "pickle"])).status_code == 404
    )


def test_it_deletes_exports_with_the_version(published, make_version, ai, owner,
                                             django_capture_on_commit_callbacks):  # fmt: skip
    v2 = make_version(ai)
    name = services.export_build(version=v2, fmt="keras")
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_delete(version=v2)
    assert not default_storage.exists(name)
    assert not ModelVersion.objects.filter(pk=v2.pk).exists()


@pytest.mark.skipif(S3_TESTS, reason="an S3 PUT is all or nothing: no half-written object to serve")
def test_it_never_serves_an_export_whose_write_was_cut_short(published, monkeypatch):
    from django.core.files import File

    real_chunks = File.chunks

    def disk_full(self, chunk_size=None):
        for i, chunk in enumerate(real_chunks(self, chunk_size=1024)):
            if i == 2:
                raise OSError(28, "No space left on device")
            yield chunk

    monkeypatch.setattr(File, "chunks", disk_full)
    with pytest.raises(OSError):
        services.export_build(version=published, fmt="keras")
    name = services.export_name(version=published, fmt="keras")
    assert default_storage.exists(name)  # the cut-short file is there...
    assert not services.export_ready(version=published, fmt="keras")  # ...but never served

    monkeypatch.setattr(File, "chunks", real_chunks)
    assert services.export_build(version=published, fmt="keras") == name
    assert services.export_ready(version=published, fmt="keras")
    with default_storage.open(name, "rb") as f, zipfile.ZipFile(f) as zf:
        assert zf.testzip() is None and "model.keras" in zf.namelist()


@pytest.mark.parametrize("fmt", ["onnx", "keras"])
def test_its_readme_example_says_not_sure_for_an_unrelated_photo(make_version, ai, tmp_path, fmt):
    import contextlib
    import os

    from .conftest import grey_jpeg

    version = make_version(ai, unknown=True)
    out = unzip(version, fmt, tmp_path)
    assert {"unknown.npz", "unknown.json"} <= {p.name for p in out.iterdir()}
    assert json.loads((out / "unknown.json").read_text())["threshold"] == version.threshold
    example = (out / "README.md").read_text().split("```python\n")[1].split("```")[0]
    said = {}
    for name, data in (("grey", grey_jpeg()), ("red", colour_jpeg("red", seed=4))):
        (out / "photo.jpg").write_bytes(data)
        printed = io.StringIO()
        cwd = os.getcwd()
        os.chdir(out)
        try:
            with contextlib.redirect_stdout(printed):
                exec(compile(example, "README.md", "exec"), {})  # noqa: S102 - our own README
        finally:
            os.chdir(cwd)
        said[name] = printed.getvalue()
    assert said["grey"].startswith("not sure, closest: ")
    assert said["red"].startswith("red ")
