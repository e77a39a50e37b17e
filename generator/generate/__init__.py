"""Generate stage: the table through ``templates/*.j2`` into ``generated/``."""
