"""``python -m plurel_sql`` runs the command line."""

import sys

from plurel_sql.cli import main

sys.exit(main())
