"""Check stage: builds against the table and their baselines, as findings.

Entry point: `compare.check_drift` (pure: values in, a `Report` out);
`report.format_report` shows a report in each output format.
"""
