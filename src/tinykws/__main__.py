"""`python -m tinykws ...`: the same command line as the `tinykws` script."""

import sys

from tinykws.cli.main import main

sys.exit(main())
