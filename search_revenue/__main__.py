"""Entry point of `python -m search_revenue`."""

import sys

from search_revenue.report.cli import main

sys.exit(main())
