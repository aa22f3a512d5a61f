import sys

from gateway.socket_mode.cli import main

sys.exit(main())
