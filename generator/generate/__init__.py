"""Generate stage: the table through ``templates/*.j2`` into ``generated/``.

Entry point: `render.render_templates`; `render.check_outputs` and
`render.write_outputs` compare with and write to the output folder.
"""
