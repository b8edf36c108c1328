"""``python -m bot``: the same as the ``groupbridge`` command."""

from bot.cli import main

raise SystemExit(main())
