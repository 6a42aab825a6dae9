"""`python -m romcam` = the `romcam` command."""

import sys

from romcam.cli import main

sys.exit(main())
