"""Placement on the live cluster: the inventory-fed placement hook, scale-in costs and the
container-instance labels CQL reads."""
