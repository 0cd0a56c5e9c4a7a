"""People: face quality, the grouping of face embeddings into people, and the rules that keep
what a person said (names, merges, "not this person") across later runs. Pure library code:
storage, commands and search build on it."""
