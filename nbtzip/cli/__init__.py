"""The command line: commands (main), per-file runs (jobs), signals and exit
statuses (terminal), progress, bench and report. The `nbtzip` command is
nbtzip.cli.main:main."""
