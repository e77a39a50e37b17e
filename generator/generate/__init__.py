"""Generate stage: the table through ``templates/*.j2`` into ``generated/``.

Entry point: `render.render_templates`; `outputs.check_outputs` and
`outputs.write_outputs` compare with and write to the output folder.
"""
