# Two commands for a newcomer: `make run` and `make test`. Everything runs from .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install install-gpu run test test-backends test-s3 lint format browser compose bench check-deploy

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt -r requirements-dev.txt -c requirements.lock
	touch $(STAMP)

# A GPU training host (Linux x86_64, NVIDIA driver): TensorFlow's CUDA build in place of the CPU
# one, same version. The web and CPU workers keep tensorflow-cpu.
install-gpu: install
	$(BIN)/python -m pip uninstall -y -q tensorflow-cpu
	$(BIN)/python -m pip install -q "tensorflow[and-cuda]==$$(sed -n 's/^tensorflow-cpu==//p' requirements.txt)"

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py runall

test: install browser compose
	$(BIN)/python -m pytest

# The learning core and a real worker's run on a second Keras backend (PyTorch, CPU build: on
# the CI machines pip takes torch==2.13.0 from a local wheel).
test-backends: install
	$(BIN)/python -m pip install -q torch==2.13.0
	KERAS_BACKEND=torch $(BIN)/python -m pytest -q tests/ml tests/training/test_backends.py

# The storage-touching tests again with media in S3 (moto's server, a real S3 HTTP endpoint).
test-s3: install
	AIMAKER_TEST_S3=1 $(BIN)/python -m pytest -q tests/datasets tests/inference

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Debian's Chromium for the Playwright tests; never fails: the browser tests skip with a reason without it.
browser:
	@sh scripts/install-browser.sh

# Debian's docker-compose, to validate compose.yaml offline; never fails (that test then skips).
compose:
	@sh scripts/install-compose.sh

# scikit-image only for its bundled sample photos (bench.unknown's unrelated images).
bench: install
	$(BIN)/python -m pip install -q scikit-image==0.26.0
	$(BIN)/python -m bench.import_images ../shared/datasets/clothing-small/train
	$(BIN)/python -m bench.train ../shared/datasets/clothing-small/train --holdout ../shared/datasets/clothing-small/validation
	$(BIN)/python -m bench.serve
	$(BIN)/python -m bench.doubts --full
	$(BIN)/python -m bench.unknown --compare
	$(BIN)/python -m bench.live --viewers 500
	$(BIN)/python -m bench.faults
