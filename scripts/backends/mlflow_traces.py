"""Prints what an MLflow tracking server stored, as one JSON document: every
trace of experiment 0 with its request/response previews, state, session and
user, and its spans (name, span type, inputs, outputs, attributes). Run with
the MLflow venv's python (test-support/src/pyapp.rs does):

    target/backends/venv-mlflow/bin/python scripts/backends/mlflow_traces.py http://127.0.0.1:PORT
"""
import json
import logging
import sys

from mlflow import MlflowClient

logging.getLogger("mlflow").setLevel(logging.ERROR)


def decode(v):
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


client = MlflowClient(tracking_uri=sys.argv[1])
out = []
token = None
while True:
    page = client.search_traces(locations=["0"], max_results=200, page_token=token)
    for t in page:
        info = t.info
        spans = []
        for s in t.data.spans:
            d = s.to_dict()
            attrs = {k: decode(v) for k, v in (d.get("attributes") or {}).items()}
            spans.append({
                "name": s.name,
                "parent_id": s.parent_id or "",
                "span_type": s.span_type,
                "inputs": s.inputs,
                "outputs": s.outputs,
                "attributes": attrs,
            })
        out.append({
            "trace_id": info.trace_id,
            "state": str(info.state.value if hasattr(info.state, "value") else info.state),
            "request_preview": info.request_preview,
            "response_preview": info.response_preview,
            "metadata": dict(info.trace_metadata or {}),
            "spans": spans,
        })
    token = page.token
    if not token:
        break
json.dump(out, sys.stdout, default=str)
