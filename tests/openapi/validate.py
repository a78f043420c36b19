"""Validates OpenAPI documents (JSON files) with openapi-spec-validator.

Usage: validate.py FILE...  Exit 0 when every document is valid, 1 otherwise; every
error is printed. The OpenAPI version is read from each document (2.0, 3.0, 3.1, 3.2).
"""

import json
import sys
from importlib.metadata import version

from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from openapi_spec_validator.versions.shortcuts import get_spec_version

from openapi_spec_validator import (
    OpenAPIV2SpecValidator,
    OpenAPIV30SpecValidator,
    OpenAPIV31SpecValidator,
    OpenAPIV32SpecValidator,
)

VALIDATORS = {
    "2.0": OpenAPIV2SpecValidator,
    "3.0": OpenAPIV30SpecValidator,
    "3.1": OpenAPIV31SpecValidator,
    "3.2": OpenAPIV32SpecValidator,
}


def main(paths):
    if not paths:
        print("usage: validate.py FILE...", file=sys.stderr)
        return 2
    print(f"openapi-spec-validator {version('openapi-spec-validator')}")
    failed = 0
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                spec = json.load(f)
        except (OSError, ValueError) as err:
            print(f"INVALID {path}: not a readable JSON document: {err}")
            failed += 1
            continue
        try:
            spec_version = get_spec_version(spec)
        except Exception as err:  # no or unknown `openapi` field
            print(f"INVALID {path}: {err}")
            failed += 1
            continue
        key = f"{spec_version.major}.{spec_version.minor}"
        validator = VALIDATORS[key](spec, base_uri=f"file://{path}")
        errors = list(validator.iter_errors())
        if errors:
            failed += 1
            print(f"INVALID {path} (OpenAPI {key}): {len(errors)} error(s)")
            for err in errors:
                where = "/".join(str(p) for p in getattr(err, "absolute_path", []))
                message = getattr(err, "message", str(err))
                print(f"  at /{where}: {message}")
        else:
            print(f"valid {path} (OpenAPI {key})")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except OpenAPIValidationError as err:
        print(f"INVALID: {err}")
        sys.exit(1)
