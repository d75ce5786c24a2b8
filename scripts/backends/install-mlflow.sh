#!/usr/bin/env bash
# Installs mlflow for the tests (see install-pyapp.sh) and prints its venv.
exec bash "$(dirname "${BASH_SOURCE[0]}")/install-pyapp.sh" mlflow
