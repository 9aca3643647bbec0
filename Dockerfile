# AI Maker images. Targets:
#   app  (default): web server, general workers, monitor and CPU training workers
#   gpu           : a training worker with TensorFlow's CUDA build (Linux x86_64, NVIDIA GPU)
# Build:  docker build -t aimaker .            docker build --target gpu -t aimaker-gpu .
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt requirements.lock ./
RUN pip install -r requirements.txt -c requirements.lock

FROM build AS build-gpu
# TensorFlow's CUDA build brings its CUDA and cuDNN libraries as wheels; the web never loads it.
RUN pip uninstall -y tensorflow-cpu \
 && pip install "tensorflow[and-cuda]==$(sed -n 's/^tensorflow-cpu==//p' requirements.txt)"

FROM python:3.11-slim AS app
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 AIMAKER_DATA_DIR=/data \
    STATIC_ROOT=/app/staticfiles HOST=0.0.0.0 PORT=8000
RUN useradd --create-home --uid 10001 aimaker && mkdir -p /data && chown aimaker /data
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=aimaker . /app
# Static files collected at build time; whitenoise serves them. A throw-away key: this step
# imports the settings, nothing is signed.
RUN SECRET_KEY=collectstatic-only AIMAKER_DATA_DIR=/tmp/build REDIS_URL=redis://unused:6379/0 \
    python manage.py collectstatic --noinput -v 0 && rm -rf /tmp/build
USER aimaker
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=4)"
CMD ["python", "manage.py", "runall", "--only", "web"]

FROM app AS gpu
USER root
COPY --from=build-gpu /opt/venv /opt/venv
USER aimaker
HEALTHCHECK NONE
CMD ["python", "manage.py", "runall", "--only", "training"]
