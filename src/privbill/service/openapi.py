"""Print the service's OpenAPI document: ``python -m privbill.service.openapi > docs/openapi.json``.

The document is built from the application itself (no database is touched); a test checks that
the copy in ``docs/`` equals what a running service serves.
"""

from __future__ import annotations

import sys

from privbill.service.app import openapi_json

if __name__ == "__main__":
    sys.stdout.write(openapi_json())
