#!/usr/bin/env python3
"""Extracts the facts genai-trace's conformance test checks from the official
OpenTelemetry semantic-conventions registry, into one JSON file.

usage: extract.py SEMCONV_CHECKOUT TAG > tests/conformance/semconv-TAG.json

SEMCONV_CHECKOUT is a clone of https://github.com/open-telemetry/semantic-conventions
(the files are read at TAG with `git show`, whatever is checked out). Needs
Python 3 with PyYAML. What it writes:

  attributes  every gen_ai.*, openai.*, server.address/port, error.type attribute
              of the registry: its type ("string", "int", "double", "boolean",
              "string[]", "any") and, for enums, the member values
  deprecated  the deprecated gen_ai.* attribute names
  spans       each span group: span kind, the span-name pattern of its note, and
              every attribute with its requirement level after resolving
              `extends` (a child's level overrides its parent's)
  metrics     each metric: instrument, unit, bucket boundaries (from
              docs/gen-ai/gen-ai-metrics.md) and attributes with levels
  events      the GenAI events, resolved like spans

Requirement levels are kept as the registry has them: "required",
"recommended", "opt_in", or {"conditionally_required": "<condition>"} /
{"recommended": "<condition>"}.
"""
import json
import re
import subprocess
import sys

import yaml

FILES = [
    "model/gen-ai/registry.yaml",
    "model/gen-ai/spans.yaml",
    "model/gen-ai/metrics.yaml",
    "model/gen-ai/events.yaml",
    "model/openai/registry.yaml",
    "model/server/registry.yaml",
    "model/error/registry.yaml",
    "model/gen-ai/deprecated/registry-deprecated.yaml",
]
WANTED = re.compile(r"^(gen_ai\.|openai\.|server\.address$|server\.port$|error\.type$)")


def show(repo, tag, path):
    return subprocess.run(["git", "-C", repo, "show", f"{tag}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def type_of(t):
    if isinstance(t, dict):
        return "string" if all(isinstance(m.get("value"), str) for m in t["members"]) else "int"
    return t


def main():
    repo, tag = sys.argv[1], sys.argv[2]
    groups = []
    for f in FILES:
        for g in yaml.safe_load(show(repo, tag, f))["groups"]:
            g["_file"] = f
            groups.append(g)
    by_id = {g["id"]: g for g in groups}

    attributes, deprecated = {}, []
    for g in groups:
        for a in g.get("attributes", []):
            if "id" not in a or not WANTED.match(a["id"]):
                continue
            if "deprecated" in a:
                deprecated.append(a["id"])
                continue
            entry = {"type": type_of(a["type"])}
            if isinstance(a["type"], dict):
                entry["members"] = sorted(str(m["value"]) for m in a["type"]["members"])
            attributes[a["id"]] = entry

    def resolved(gid):
        g = by_id[gid]
        out = dict(resolved(g["extends"])) if "extends" in g else {}
        for a in g.get("attributes", []):
            key = a.get("ref") or a.get("id")
            if "requirement_level" in a:
                out[key] = a["requirement_level"]
            else:
                out.setdefault(key, "recommended")
        return out

    def name_pattern(g):
        m = re.search(r"\*\*Span name\*\* SHOULD be `([^`]+)`", g.get("note", "") + g.get("brief", ""))
        return m.group(1) if m else None

    spans = {}
    for g in groups:
        if g.get("type") == "span":
            spans[g["id"]] = {
                "kind": g["span_kind"],
                "name": name_pattern(g),
                "attributes": resolved(g["id"]),
            }

    doc = show(repo, tag, "docs/gen-ai/gen-ai-metrics.md")
    buckets, current = {}, None
    for line in doc.replace("of\n[", "of [").splitlines():
        m = re.match(r"### Metric: `([^`]+)`", line)
        if m:
            current = m.group(1)
        m = re.search(r"\[ExplicitBucketBoundaries\] of \[([^\]]+)\]", line)
        if m and current:
            buckets[current] = [float(x) for x in m.group(1).split(",")]
    metrics = {}
    for g in groups:
        if g.get("type") == "metric":
            metrics[g["metric_name"]] = {
                "instrument": g["instrument"],
                "unit": g["unit"],
                "buckets": buckets.get(g["metric_name"]),
                "attributes": resolved(g["id"]),
            }

    events = {}
    for g in groups:
        if g.get("type") == "event" and not g["_file"].endswith("-deprecated.yaml"):
            events[g["name"]] = {"attributes": resolved(g["id"])}

    json.dump({
        "source": f"open-telemetry/semantic-conventions {tag}: " + ", ".join(FILES)
                  + ", docs/gen-ai/gen-ai-metrics.md (bucket boundaries)",
        "attributes": dict(sorted(attributes.items())),
        "deprecated": sorted(set(deprecated)),
        "spans": spans,
        "metrics": metrics,
        "events": events,
    }, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
