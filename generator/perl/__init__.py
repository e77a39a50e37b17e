"""Perl import stage: a Perl permission hash (Proxmox's ``HMPPerms``) as a table.

Entry point: `importer.import_perl`; `reader.read_module` reads the module as perl
holds it, without running it.
"""
