"""`python -m crewrite`: the `crewrite` command, for environments where the script is not on
PATH (a TVM virtualenv used without activating it)."""

import sys

from crewrite.cli import main

sys.exit(main())
