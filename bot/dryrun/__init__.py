"""`groupbridge run --dry-run`: check a setup against VRChat, printing to the terminal (see run.py)."""

from bot.dryrun.run import DEFAULT_LIMIT, MAX_LIMIT, dry_run

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "dry_run"]
