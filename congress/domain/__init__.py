"""Rules of congresses, rosters and publications: plain values and functions, no I/O."""
