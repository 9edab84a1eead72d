# Two entry points, each setting itself up on a fresh clone:
#   make book   build the HTML book, executing every notebook
#   make test   run pytest on the package and nbval on every notebook
# and one that needs a built book:
#   make check-pages   render every page of _build/html in headless Chromium
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: book test check-pages benchmark notebooks weights experiments clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[book,test]"
	rm -f $(VENV)/.installed-*
	touch $@

book: $(STAMP)
	$(BIN)/python tools/build_book.py

test: $(STAMP)
	$(BIN)/python -m pytest

# Checks the pages that `make book` wrote, without rebuilding them. Installs
# the Debian package chromium with apt-get when no Chromium is on PATH.
check-pages: $(STAMP)
	$(BIN)/python tools/check_pages.py _build/html

benchmark: $(STAMP)
	$(BIN)/python benchmarks/train_throughput.py

# Re-execute every chapter in place at full size, so the outputs stored in the
# notebooks (which nbval compares and GitHub shows) come from the current code.
notebooks: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py book/*.ipynb

# Train the recommended configuration on rendered eyes (never on EYEGAN_DATA)
# and ship its generator, history and grids in eyegan/weights.
weights: $(STAMP)
	env -u EYEGAN_DATA $(BIN)/python -m eyegan train --preset recommended --batch-size 64 \
		--epochs 10 --steps-per-epoch 100 --restart --out runs/weights
	$(BIN)/python tools/export_weights.py runs/weights

# Run every experiment the ablation chapters read; finished runs are skipped.
EXPERIMENTS := learning_rates update_ratio batch_norm discriminator_batches beta1 input_scaling recommended
experiments: $(STAMP)
	for name in $(EXPERIMENTS); do $(BIN)/python -m eyegan experiment run $$name || exit 1; done

clean:
	rm -rf _build
