"""`python -m bench [name ...]`: run the bench modules (all, or those whose name contains a
given word), print one table, exit 1 if any figure missed its goal."""

from __future__ import annotations

import sys

from bench.harness import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
