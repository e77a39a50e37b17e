"""Check stage: builds against the table and their baselines, as findings."""

#: The formats of a report and of a diff, for the command line without the formatters.
FORMATS = ("text", "json", "junit", "github", "markdown")
DIFF_FORMATS = ("text", "markdown")
