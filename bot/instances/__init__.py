"""Group instances from Discord: open one, close one (`/vrc instance open|close`), and the optional
per-binding age-gate policy that reports (with a Close button) or closes group instances that are not
age-gated. service.py decides, age_gate.py polls, views.py has the Close button, cog.py the commands
and the loop (loaded from bot.bot.install_commands)."""
