"""`python -m bot [run|imagine|parse] ...`"""

import sys

from bot.cli import main

sys.exit(main())
