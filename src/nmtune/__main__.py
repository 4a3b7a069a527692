import sys

from nmtune.cli import main

sys.exit(main())
