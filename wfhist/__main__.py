"""``python -m wfhist`` runs the command line, as the ``wfhist`` script does."""

import sys

from wfhist.cli import main

sys.exit(main())
