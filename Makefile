# Two commands do all set-up on a fresh clone (see README):
#   make app    create .venv, install, start the app
#   make test   create .venv, install, run the tests (all but the slow ones: what CI runs)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: app test test-all mutation bench clean

$(VENV)/.runtime: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

app: $(VENV)/.runtime
	$(VENV)/bin/streamlit run app/main.py

# The default run (CI's): every feature has real tests here; @pytest.mark.slow ones only repeat on a
# larger scale what these already check. Two pytest processes (pytest-xdist), each taking whole test
# files: most tests wait on a browser, a server or a worker process, so two at once on 2 cores take
# about 30% less time than one after the other. TESTERS=1 runs them one after the other.
TESTERS ?= 2
XDIST   := $(if $(filter 1,$(TESTERS)),,-n $(TESTERS) --dist loadfile)
test: $(VENV)/.dev
	$(PY) -m pytest -m "not slow" $(XDIST)

test-all: $(VENV)/.dev
	$(PY) -m pytest $(XDIST)

# Mutation testing of the pure-Python core (slow, not in CI): scores per module, surviving mutants.
mutation: $(VENV)/.dev
	nice -n 10 $(PY) -m tests.mutation.run $(MODULES)

bench: $(VENV)/.dev
	$(PY) -m bench

clean:
	rm -rf $(VENV) mutants
