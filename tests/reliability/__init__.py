"""The reliability suite of issue #7: the real bot as a process against the VRChat simulator and the
Discord stand-in, killed with SIGKILL at every phase (crash.py) and put through VRChat, Discord and
database faults (faults.py). `make test` runs the short versions (test_*.py); `python -m
tests.reliability` (`make reliability`) runs the full ones and prints the table."""
