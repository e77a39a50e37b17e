"""The foundation every stage stands on: errors, the shared data types, text
safety, file access and YAML nodes. It imports nothing above itself."""
