"""hmp-perms: keep a QEMU human-monitor permission table honest. The packages below are
the stages, the use cases and the command line of docs/architecture.md."""

__version__ = "0.2.0"
