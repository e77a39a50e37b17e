"""Application layer: the use cases the command line offers, each one function that takes
paths and options and returns values; they print nothing."""
