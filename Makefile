# Two commands do all set-up on a fresh machine:
#   make demo   - compress + decompress the bundled example image and check the pixels
#   make test   - run the test suite (needs ARCODEC_DATA, the data directory)
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH ?= torch==2.13.0

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	@d=$$(mktemp -d) && cp examples/digit7.png $$d/ && \
	$(VENV)/bin/arcodec compress -v $$d/digit7.png && \
	mv $$d/digit7.png $$d/original.png && \
	$(VENV)/bin/arcodec decompress -v $$d/digit7.png.arc && \
	$(VENV)/bin/arcodec info $$d/digit7.png.arc && \
	$(PY) -c "import sys, numpy as np; from PIL import Image; \
	a, b = (np.asarray(Image.open(sys.argv[i])) for i in (1, 2)); \
	print('pixels identical:', bool(np.array_equal(a, b))); sys.exit(0 if np.array_equal(a, b) else 1)" \
	$$d/original.png $$d/digit7.png && \
	ls -l $$d && rm -r $$d

test: $(VENV)/.installed
	$(PY) -m pytest

bench-quick: $(VENV)/.installed
	$(PY) -m benchmarks --quick --out results/quick

bench: $(VENV)/.installed
	$(PY) -m benchmarks --out results/full

.PHONY: install demo test bench bench-quick
