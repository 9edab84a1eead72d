import sys

from eyegan.cli import main

sys.exit(main())
