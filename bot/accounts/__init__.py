"""One VRChat account, one egress: each account is used by the one process holding its lease
(bot.leases), which takes it up (bot.accounts.holding) and runs the calls other processes hand it
(bot.accounts.desk)."""
