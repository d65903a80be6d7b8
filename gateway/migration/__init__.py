"""Migration testing: recording exchanges as HAR, replaying and diffing them, shadow reads against a
legacy provider. May import service, lists, upstream, dialect and the bottom layer, never the edge."""
