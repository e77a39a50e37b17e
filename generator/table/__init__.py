"""Table stage: ``data/hmp-commands.yaml`` read and validated into a `Table`
(`loader.load_table`); `edit` adds entries to its text at the lines the loader found."""
