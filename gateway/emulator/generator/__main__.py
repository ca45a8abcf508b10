"""`python -m gateway.emulator.generator` is the `generate-records` command."""

import sys

from gateway.emulator.generator.command import main

sys.exit(main())
