"""One module per CLI command family. Each imports only typer and fmkit's light modules;
task modules (and torch with them) are imported inside the command functions."""
