# One set of commands for people and CI. Everything runs from the project's own virtualenv ($(VENV)),
# created on first use; `pip install` runs again only when pyproject.toml changes (a stamp keyed by its hash).
#
#   make run     start the local stack (Temporal dev server, worker, API): `gennaker up`
#   make test    the test suite with coverage (the floor is in pyproject.toml)
#   make test-fast   the tests that need no server: no Temporal, databases, moto, kube-apiserver (3,700 of 4,600)
#   make lint    ruff check, ruff format --check, mypy
#   make footprint   the local stack's memory after a one-stage pipeline (scripts/footprint.py, docs/performance.md)
#   make bench   the benchmarks in bench/ (the engine, then the API: make bench-api)
#   make bench-scale / make chaos   history growth at 10..1,000 stages; pipelines under SIGKILLs
#   make soak-polls  a webhook stage polling a 250 KB body once a second for ten minutes (tests/engine)
#   make outage  a pipeline finishing through a 60-second database outage (tests/projection)
#   make demo    a real red/black deployment to moto's AWS server, no cloud account needed
#   make replay-record   record the replay corpus of the current build id (tests/replay/, docs/operations.md)
#
# VENV=/some/dir, PYTHON=python3.11 and PYTEST_ARGS="-k settings" can be given on the command line.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
PYPROJECT_HASH := $(shell sha256sum pyproject.toml | cut -c1-16)
RUN_STAMP := $(VENV)/.gennaker-install-$(PYPROJECT_HASH)
TEST_STAMP := $(VENV)/.gennaker-install-test-$(PYPROJECT_HASH)
LINT_PATHS := core workflows activities gennaker integrations api providers bakery canary templates worker.py

.PHONY: run test tools lint bench bench-api bench-scale chaos outage soak-polls demo install install-test replay-record

run: $(RUN_STAMP)
	$(BIN)/gennaker up

test: $(TEST_STAMP) tools
	$(BIN)/pytest --cov --cov-report=term --durations=30 $(PYTEST_ARGS)

# The tests that need no server: tests/conftest.py marks `server` every test that uses Temporal, PostgreSQL, MariaDB,
# moto, the kube-apiserver, packer or Prometheus (by its fixtures); in-process stand-ins stay in. No coverage floor.
test-fast: $(TEST_STAMP)
	$(BIN)/pytest -q -m "not server and not slow" $(PYTEST_ARGS)

# Debian's packer (the bakery's tests and `make demo` bake real images with it, against moto's server) and a
# kube-apiserver built from Debian's kubernetes source package with etcd (the Kubernetes tests, the demo's manifest
# pipeline): installed or built once, the apiserver cached under ~/.cache/gennaker by its Debian version (4-6 minutes
# the first time, 0.2 s after). `tools` adds what only the tests use: promtool, chromium and terraform 1.11.
demo-tools:
	@command -v packer >/dev/null || apt-get install -y -q packer || (apt-get update -q && apt-get install -y -q packer)
	@bash scripts/kube-apiserver.sh >/dev/null

tools: demo-tools
	@command -v promtool >/dev/null || apt-get install -y -q --no-install-recommends prometheus || (apt-get update -q && apt-get install -y -q --no-install-recommends prometheus)
	@command -v chromium >/dev/null || apt-get install -y -q --no-install-recommends chromium || (apt-get update -q && apt-get install -y -q --no-install-recommends chromium)
	@terraform version 2>/dev/null | grep -q '^Terraform v1\.11\.' || { echo 'terraform 1.11 is needed by tests/terraform: install it at /usr/local/bin/terraform, e.g. curl -fsSLo /tmp/tf.zip https://releases.hashicorp.com/terraform/1.11.4/terraform_1.11.4_linux_amd64.zip && unzip -o /tmp/tf.zip terraform -d /usr/local/bin'; exit 1; }

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(LINT_PATHS)

bench: $(RUN_STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.api

# moto comes with the test extras; packer and the kube-apiserver come from `demo-tools`, as `make test` gets them
demo: $(TEST_STAMP) demo-tools
	$(BIN)/python -m gennaker.demo

# The sum of the stack's resident memory after one small pipeline, per process (docs/performance.md, "Footprint")
footprint: $(RUN_STAMP)
	$(BIN)/python scripts/footprint.py

# The replay corpus (tests/replay/): the engine's tests run against their stand-ins (moto, the Jenkins stand-in,
# the kube-apiserver, packer, local webhook servers) and one closed history of every workflow and stage type is
# stored under tests/replay/histories/<BUILD_ID>/ (tests/replay/test_coverage.py fails while a stage type of the
# catalog has none: add the test file that runs it here). A failing test does not stop the recording; the
# replay test runs after it. Re-record whenever gennaker.versioning.BUILD_ID changes (docs/operations.md).
REPLAY_TESTS ?= tests/workflows/test_stages.py tests/workflows/test_pipeline.py tests/providers/test_deploy_pipeline.py \
	tests/providers/test_rolling_deploy.py tests/k8s/test_manifest_pipeline.py tests/k8s/test_run_job_pipeline.py \
	tests/bakery/test_bake_stage.py tests/integrations/jenkins/test_stages.py tests/integrations/jenkins/test_pipelines.py \
	tests/api/test_gate_operations.py::test_webhook_and_child_pipeline_stages_through_the_api \
	tests/engine/test_continue_as_new.py tests/canary/stage/test_stage_engine.py tests/terraform/test_plan_apply.py \
	tests/infrastructure/test_gate_infra.py tests/infrastructure/test_rollback_tasks.py tests/integrations/ci/test_pipelines.py tests/integrations/ci/test_gitlab_e2e.py tests/canary/stage/test_deployments.py tests/replay/test_update_launch_template_stage.py
replay-record: $(TEST_STAMP) demo-tools
	-$(BIN)/pytest -p tests.replay.recorder -p no:cacheprovider -q -s $(REPLAY_TESTS)
	$(BIN)/pytest -p no:cacheprovider -q tests/replay

bench-api: $(RUN_STAMP)
	$(BIN)/python -m bench.api

# History growth with the stage count against raw Temporal, big shapes through Gate (docs/performance.md);
# ARGS="--sizes 10,100 --only linear,raw" picks sizes. moto comes with the test extras.
bench-scale: $(TEST_STAMP)
	nice -n 10 $(BIN)/python -m bench.scale $(ARGS)

# Pipelines under SIGKILLs of the worker, the API and the dev server; exits non-zero when an invariant breaks.
chaos: $(TEST_STAMP)
	nice -n 10 $(BIN)/python -m bench.chaos $(ARGS)

# A webhook stage polling a 250 KB body for ten minutes (about 96 polls: 1 s, then 15 s after a minute): history stays bounded
soak-polls: $(TEST_STAMP)
	GENNAKER_SOAK_SECONDS=600 $(BIN)/pytest -q -s -o addopts='' --timeout 1800 tests/engine/test_large_polls.py

# The database outage at full length: a real pipeline finishes while PostgreSQL is unreachable for 60 s; its final
# record and its downstream pipeline trigger land once, after (make test runs the same test with a 4 s outage).
outage: $(TEST_STAMP)
	GENNAKER_TEST_OUTAGE_SECONDS=60 $(BIN)/pytest -p no:cacheprovider -q -s tests/projection/test_outage_pipeline.py

install: $(RUN_STAMP)

install-test: $(TEST_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): | $(BIN)/python
	$(BIN)/python -m pip install -e .
	rm -f $(VENV)/.gennaker-install-*
	touch $@

# The test extras include everything `pip install -e .` brings, so this stamp also satisfies `make run`.
$(TEST_STAMP): | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	rm -f $(VENV)/.gennaker-install-*
	touch $@ $(RUN_STAMP)
