"""``python -m privbill.cli``: the ``privbill`` command."""

from __future__ import annotations

import sys

from privbill.cli import main

sys.exit(main())
