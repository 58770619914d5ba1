"""`python -m arxivwatch` is the same as the `arxivwatch` command."""

import sys

from arxivwatch.cli import main

sys.exit(main())
