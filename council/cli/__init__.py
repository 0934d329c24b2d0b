"""The `council` command line: database set-up, the server, the demo round, principals, projections."""
