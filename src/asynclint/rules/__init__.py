"""The rules: one module per rule, named by its slug; the registry discovers them."""
