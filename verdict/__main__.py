import sys

from verdict.cli import main

sys.exit(main())
