"""A rotel processor that appends everything rotel-agent receives to JSON-lines
files, for genai-trace's tests to read (test-support/src/rotel.rs).

rotel-agent loads this file with --otlp-with-{trace,metrics,logs}-processor and
calls process_spans / process_metrics / process_logs with one resource's data;
the data passes through unchanged. Files, in $GENAI_TRACE_JSONL_DIR (default:
the working directory):

  spans.jsonl    {"name", "trace_id", "span_id", "parent_span_id" ("" = root),
                  "kind" (INTERNAL|SERVER|CLIENT|PRODUCER|CONSUMER), "status":
                  {"code": UNSET|OK|ERROR, "message"}, "attributes", "events",
                  "links", "resource", "scope": {"name", "version"},
                  "start_time_unix_nano", "end_time_unix_nano"}
  metrics.jsonl  one data point per line: {"name", "unit", "type" (Sum, Gauge,
                  Histogram, ...), "attributes", "value" | "count", "sum",
                  "bucket_counts", "explicit_bounds", "resource", "scope"}
  logs.jsonl     {"body", "attributes", "severity_number", "severity_text",
                  "trace_id", "span_id", "event_name", "resource", "scope"}

Attribute values keep their OTLP types (string, int, float, bool, list, map).
A failure here is written to processor-errors.log and never stops rotel.
"""

import json
import os
import traceback

OUT = os.environ.get("GENAI_TRACE_JSONL_DIR", ".")
SPAN_KINDS = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"]
STATUS_CODES = ["UNSET", "OK", "ERROR"]


def listed(seq):
    """rotel's sequences are iterable in newer releases, indexable in older ones."""
    if seq is None:
        return []
    try:
        return list(seq)
    except TypeError:
        items = []
        while True:
            try:
                items.append(seq[len(items)])
            except (IndexError, KeyError):
                return items


def plain(value):
    """An OTLP AnyValue as a JSON value: scalars stay typed, arrays become
    lists, key-value lists become objects, bytes become hex."""
    if value is None:
        return None
    inner = getattr(value, "value", value)
    if inner is None or isinstance(inner, (str, bool, int, float)):
        return inner
    if isinstance(inner, (bytes, bytearray)):
        return bytes(inner).hex()
    items = listed(inner)
    if items and all(hasattr(i, "key") for i in items):
        return {i.key: plain(i.value) for i in items}
    return [plain(i) for i in items]


def attributes(kvs):
    return {kv.key: plain(kv.value) for kv in listed(kvs)}


def hex_id(raw):
    return bytes(raw).hex() if raw else ""


def name_of(table, code):
    return table[code] if isinstance(code, int) and 0 <= code < len(table) else str(code)


def append(file_name, records):
    if records:
        with open(os.path.join(OUT, file_name), "a", encoding="utf-8") as f:
            f.write("".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in records))


def never_raises(handler):
    def run(data):
        try:
            handler(data)
        except Exception:
            with open(os.path.join(OUT, "processor-errors.log"), "a", encoding="utf-8") as f:
                f.write(traceback.format_exc() + "\n")

    return run


def resource_of(data):
    return attributes(data.resource.attributes) if data.resource else {}


@never_raises
def process_spans(resource_spans):
    resource = resource_of(resource_spans)
    records = []
    for scope_spans in listed(resource_spans.scope_spans):
        scope = scope_spans.scope
        for span in listed(scope_spans.spans):
            status = span.status
            records.append({
                "name": span.name,
                "trace_id": hex_id(span.trace_id),
                "span_id": hex_id(span.span_id),
                "parent_span_id": hex_id(span.parent_span_id),
                "kind": name_of(SPAN_KINDS, span.kind),
                "status": {
                    "code": name_of(STATUS_CODES, status.code) if status else "UNSET",
                    "message": (status.message if status else "") or "",
                },
                "start_time_unix_nano": span.start_time_unix_nano,
                "end_time_unix_nano": span.end_time_unix_nano,
                "attributes": attributes(span.attributes),
                "events": [
                    {"name": e.name, "time_unix_nano": e.time_unix_nano, "attributes": attributes(e.attributes)}
                    for e in listed(span.events)
                ],
                "links": [
                    {"trace_id": hex_id(l.trace_id), "span_id": hex_id(l.span_id), "attributes": attributes(l.attributes)}
                    for l in listed(span.links)
                ],
                "resource": resource,
                "scope": {"name": scope.name if scope else "", "version": scope.version if scope else ""},
            })
    append("spans.jsonl", records)


def point_value(value):
    """A number data point's value (an AsInt / AsDouble wrapper)."""
    if value is None:
        return None
    try:
        return value[0]
    except Exception:
        return getattr(value, "value", value)


@never_raises
def process_metrics(resource_metrics):
    resource = resource_of(resource_metrics)
    records = []
    for scope_metrics in listed(resource_metrics.scope_metrics):
        scope = scope_metrics.scope.name if scope_metrics.scope else ""
        for metric in listed(scope_metrics.metrics):
            data = metric.data
            if data is None:
                continue
            kind = type(data).__name__.rsplit("_", 1)[-1]  # MetricData_Histogram -> Histogram
            try:
                inner = data[0]
            except Exception:
                inner = data
            temporality = getattr(inner, "aggregation_temporality", None)
            for point in listed(getattr(inner, "data_points", None)):
                record = {
                    "name": metric.name,
                    "unit": metric.unit,
                    "description": metric.description,
                    "type": kind,
                    "temporality": None if temporality is None else str(temporality).rsplit(".", 1)[-1],
                    "attributes": attributes(point.attributes),
                    "start_time_unix_nano": point.start_time_unix_nano,
                    "time_unix_nano": point.time_unix_nano,
                    "resource": resource,
                    "scope": scope,
                }
                if kind in ("Sum", "Gauge"):
                    record["value"] = point_value(point.value)
                    if kind == "Sum":
                        record["is_monotonic"] = inner.is_monotonic
                else:
                    record["count"] = point.count
                    record["sum"] = point.sum
                    for bound in ("min", "max"):
                        if hasattr(point, bound):
                            record[bound] = getattr(point, bound)
                    if kind == "Histogram":
                        record["bucket_counts"] = listed(point.bucket_counts)
                        record["explicit_bounds"] = listed(point.explicit_bounds)
                records.append(record)
    append("metrics.jsonl", records)


@never_raises
def process_logs(resource_logs):
    resource = resource_of(resource_logs)
    records = []
    for scope_logs in listed(resource_logs.scope_logs):
        scope = scope_logs.scope.name if scope_logs.scope else ""
        for log in listed(scope_logs.log_records):
            records.append({
                "event_name": getattr(log, "event_name", ""),
                "severity_number": log.severity_number,
                "severity_text": log.severity_text,
                "body": plain(log.body),
                "attributes": attributes(log.attributes),
                "trace_id": hex_id(log.trace_id),
                "span_id": hex_id(log.span_id),
                "time_unix_nano": log.time_unix_nano,
                "resource": resource,
                "scope": scope,
            })
    append("logs.jsonl", records)
