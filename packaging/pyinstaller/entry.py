"""The frozen application's entry point: the `genviz` command (the window, or a subcommand)."""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # training workers are spawned processes of this same executable
    from genviz.cli import main

    sys.exit(main())
