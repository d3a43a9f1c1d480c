"""One thin module per subcommand: arguments in, library call, output."""
