"""Parses a /metrics scrape with the Prometheus Python client's text-format
parser and prints what ferry's tests check, as JSON. An independent reader:
it knows nothing of how ferry wrote the text. A missing prometheus_client
is an error (pip install prometheus-client==0.21.1), never a skip.

usage: read_metrics.py SCRAPE_FILE [RULES_FILE]

Prints {"families": {name: {"type": ..., "samples": [{"name", "labels",
"value"}]}} as the OpenMetrics parser reads them, "classic": every sample as
prometheus_client.parser (the Prometheus text format) reads it,
"rule_metrics": the ferry_* names the alert rules' expressions use}.
"""
import json
import re
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1], encoding="utf-8").read()


def described(parsed):
    return {
        f.name: {
            "type": f.type,
            "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples],
        }
        for f in parsed
    }


# ferry serves OpenMetrics (its content type says so): the strict parser
# gives the typed families and raises on anything outside the grammar.
families = described(openmetrics_families(text))
# The classic Prometheus text parser must read it too (older scrapers); it
# splits an OpenMetrics counter into one family per sample, so its samples
# are listed flat.
classic = [
    {"name": s.name, "labels": s.labels, "value": s.value}
    for f in text_string_to_metric_families(text)
    for s in f.samples
]

rule_metrics = []
if len(sys.argv) > 2:
    import yaml

    rules = yaml.safe_load(open(sys.argv[2], encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule_metrics += re.findall(r"\bferry_[a-z_]+", rule["expr"])

print(json.dumps({"families": families, "classic": classic, "rule_metrics": sorted(set(rule_metrics))}))
