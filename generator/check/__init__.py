"""Check stage: builds against the table and their baselines, as findings.

Entry point: `compare.check_drift` (pure: values in, a `Report` out);
`report.format_report` shows a report in each output format.
"""

#: The formats of a report and of a diff, for the command line without the formatters.
FORMATS = ("text", "json", "junit", "github", "markdown")
DIFF_FORMATS = ("text", "markdown")
