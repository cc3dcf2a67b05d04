"""``python -m jaxmle``: the command line (:mod:`jaxmle.cli`)."""

import sys

from jaxmle.cli import main

sys.exit(main())
