"""Checks API answers against the console's OpenAPI 3.1 document.

Reads {"doc": <openapi.json>, "answers": [{method, path, status, body}]}
on stdin. Each answer is matched to its operation by path template, then to
the response of its status (else `default`); a JSON body must validate
against that response's schema (JSON Schema 2020-12, as OpenAPI 3.1 says),
and a response documented without content must have no JSON body. Answers
to paths the document does not know must be the documented problem body.
Prints one line per mismatch and exits 1 if there is any.
"""

import json
import re
import sys

from jsonschema import Draft202012Validator, FormatChecker


def template_regex(path):
    """`/api/runs/{id}` as a pattern that takes any one segment for `{id}`."""
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


def main():
    data = json.load(sys.stdin)
    doc = data["doc"]
    components = doc.get("components", {})
    templates = [(template_regex(p), p) for p in doc["paths"]]
    problem = {"$ref": "#/components/schemas/ProblemBody"}
    failures = []
    for a in data["answers"]:
        path = a["path"].split("?")[0]
        where = f'{a["method"].upper()} {a["path"]} -> {a["status"]}'
        template = next((p for rx, p in templates if rx.match(path)), None)
        op = doc["paths"][template].get(a["method"]) if template else None
        if op is None:
            schema = problem
        else:
            responses = op["responses"]
            response = responses.get(str(a["status"])) or responses.get("default")
            if response is None:
                failures.append(f"{where}: status not documented")
                continue
            content = response.get("content", {}).get("application/json")
            if content is None:
                if a["body"] is not None:
                    failures.append(f"{where}: documented without a body, answered {a['body']!r}")
                continue
            schema = content["schema"]
        validator = Draft202012Validator({**schema, "components": components}, format_checker=FormatChecker())
        errors = sorted(validator.iter_errors(a["body"]), key=lambda e: list(e.path))
        for e in errors[:3]:
            at = "/".join(str(x) for x in e.absolute_path)
            failures.append(f"{where}: at '{at}': {e.message}")
    for f in failures:
        print(f)
    sys.exit(1 if failures else 0)


main()
