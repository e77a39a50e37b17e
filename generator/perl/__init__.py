"""Perl import stage: a Perl permission hash (Proxmox's ``HMPPerms``) as a table.

Entry point: `importer.import_perl`; `ppi.read_hash` reads the module with PPI
(the Perl script it runs is in `ppi_document` and `ppi_hash`).
"""
