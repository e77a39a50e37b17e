"""The command line: `console.run` (the console script) over `main.main`."""
