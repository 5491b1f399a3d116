"""attnforge golden models: the specification. Depends on nothing else in attnforge."""
