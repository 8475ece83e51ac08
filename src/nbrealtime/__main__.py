import sys

from nbrealtime.cli import main

sys.exit(main())
