#!/usr/bin/env python3
"""Validates a Kubernetes manifest offline, strictly: kubernetes-validate's bundled schema (unknown
fields refused), a kind without a schema refused (the tool only warns), and the enum values the
bundled schemas do not carry (completionMode, podReplacementPolicy, restartPolicy). Prints the
ConfigMap's data as JSON on the last line, for the test to compare with the scenario file.

Usage: validate_manifest.py FILE KUBERNETES_VERSION...
"""
import json
import sys

import kubernetes_validate.utils as kv
import yaml

ENUMS = {
    ("Job", "spec.completionMode"): {"NonIndexed", "Indexed"},
    ("Job", "spec.podReplacementPolicy"): {"TerminatingOrFailed", "Failed"},
    ("Job", "spec.template.spec.restartPolicy"): {"Never", "OnFailure"},
}


def get(document, path):
    for key in path.split("."):
        if not isinstance(document, dict) or key not in document:
            return None
        document = document[key]
    return document


def main():
    path, versions = sys.argv[1], sys.argv[2:]
    documents = [d for d in yaml.safe_load_all(open(path)) if d]
    failed = False
    data = {}
    for document in documents:
        name = f"{document.get('kind')}/{get(document, 'metadata.name')}"
        if document.get("kind") == "ConfigMap":
            data = document.get("data", {})
        for version in versions:
            try:
                kv.validate(document, version, strict=True)
            except kv.ValidationError as error:
                print(f"ERROR {name} ({version}): {'.'.join(map(str, error.path))}: {error.message}")
                failed = True
                continue
            except (kv.SchemaNotFoundError, kv.VersionNotSupportedError) as error:
                print(f"ERROR {name} ({version}): {error.message}")
                failed = True
                continue
            for (kind, field), allowed in ENUMS.items():
                value = get(document, field)
                if document.get("kind") == kind and value is not None and value not in allowed:
                    print(f"ERROR {name}: {field}: {value!r} is not one of {sorted(allowed)}")
                    failed = True
            print(f"OK {name} ({version})")
    print(json.dumps(data))
    return 1 if failed else 0


sys.exit(main())
