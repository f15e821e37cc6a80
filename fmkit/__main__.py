"""`python -m fmkit` runs the same CLI as the `fmkit` script."""

from fmkit.cli import main

if __name__ == "__main__":
    main()
