"""Use cases built on the node: each a package of domain logic and the roles that run it."""
