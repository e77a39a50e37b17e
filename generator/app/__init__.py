"""Application layer: the use cases the command line offers, each one function.

They take paths and options and return values; they print nothing.
"""
