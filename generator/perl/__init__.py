"""Perl import stage: a Perl permission hash (Proxmox's ``HMPPerms``) as a table.

Entry point: `importer.import_perl`, with `reader.read_module`.
"""
