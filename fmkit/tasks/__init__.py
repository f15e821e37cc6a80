"""One module per capability: plain functions and classes returning typed results. No Typer, no printing."""
