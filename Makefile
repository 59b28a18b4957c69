# Two commands do all set-up on a fresh machine:
#   make demo   - compress + decompress the bundled example images and text, check the result
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
	@d=$$(mktemp -d) && for f in digit7.png parrots.png; do \
	cp examples/$$f $$d/ && \
	$(VENV)/bin/arcodec compress -v $$d/$$f && \
	mv $$d/$$f $$d/original-$$f && \
	$(VENV)/bin/arcodec decompress -v $$d/$$f.arc && \
	$(VENV)/bin/arcodec info $$d/$$f.arc && \
	$(PY) -c "import sys, numpy as np; from PIL import Image; \
	a, b = (np.asarray(Image.open(sys.argv[i])) for i in (1, 2)); \
	print('pixels identical:', bool(np.array_equal(a, b))); sys.exit(0 if np.array_equal(a, b) else 1)" \
	$$d/original-$$f $$d/$$f || exit 1; done && \
	ls -l $$d && rm -r $$d
	@d=$$(mktemp -d) && cp examples/hello.txt $$d/ && \
	$(VENV)/bin/arcodec compress -v $$d/hello.txt && \
	mv $$d/hello.txt $$d/original-hello.txt && \
	$(VENV)/bin/arcodec decompress -v $$d/hello.txt.arc && \
	cmp $$d/original-hello.txt $$d/hello.txt && echo "bytes identical: True" && \
	ls -l $$d && rm -r $$d

test: $(VENV)/.installed
	$(PY) -m pytest

bench-quick: $(VENV)/.installed
	$(PY) -m benchmarks --quick --out results/quick

bench: $(VENV)/.installed
	$(PY) -m benchmarks --out results/full

.PHONY: install demo test bench bench-quick
