"""`python -m argoscope.pipeline <step> ...`."""

import sys

from argoscope.pipeline.cli import main

sys.exit(main())
