"""Command-line tools: the dependency audit gate and a terminal chat client."""
