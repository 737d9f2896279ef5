"""Parses a /metrics scrape with the Prometheus Python client's text-format
parser and prints what ferry's tests check, as JSON. An independent reader:
it knows nothing of how ferry wrote the text. A missing prometheus_client
is an error (pip install prometheus-client==0.21.1), never a skip.

usage: read_metrics.py SCRAPE_FILE [RULES_FILE]

Prints {"families": {name: {"type": ..., "samples": [{"name", "labels",
"value"}]}}, "openmetrics": true when the strict OpenMetrics parser accepts
it too, "rule_metrics": the ferry_* names the alert rules' expressions use}.
"""
import json
import re
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1], encoding="utf-8").read()
families = {}
for family in text_string_to_metric_families(text):
    families[family.name] = {
        "type": family.type,
        "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples],
    }
# The strict parser raises on anything outside the OpenMetrics grammar.
list(openmetrics_families(text))

rule_metrics = []
if len(sys.argv) > 2:
    import yaml

    rules = yaml.safe_load(open(sys.argv[2], encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule_metrics += re.findall(r"\bferry_[a-z_]+", rule["expr"])

print(json.dumps({"families": families, "openmetrics": True, "rule_metrics": sorted(set(rule_metrics))}))
