"""Entry point of an import's checking process (see checking.py); not for people to run.

    python -m contacts.importing.check_process  < job and file bytes  > pickled batches

Django is set up before anything that needs the app registry is imported. The
pickles go to the original stdout; anything else that prints lands on stderr.
The cyclic garbage collector stays off: the process lives for one import, and
its rows make no reference cycles (see services._no_cyclic_collection). It runs at a
lower priority (NICENESS) than the worker and the database.
"""

import gc
import os
import sys

import django

# The batches' transactions are an import's longest chain; this process runs ahead of
# them. On busy cores, the scheduler serves the writing first (bench/README.md).
NICENESS = 10


def main() -> None:
    gc.disable()
    os.nice(NICENESS)
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    django.setup()
    from contacts.importing.checking import serve

    try:
        serve(sys.stdin.buffer, out)
    except BrokenPipeError:  # the worker stopped listening: it no longer needs us
        os._exit(0)


if __name__ == "__main__":
    main()
