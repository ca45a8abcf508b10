"""`python -m gateway` is the `melinda-gateway` command."""

import sys

from gateway.emulator.cli import main

sys.exit(main())
