"""One module per command group: parse options, call one core function, render its result."""
