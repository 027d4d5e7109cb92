"""Task definitions: revision bookkeeping (pure). Their models, validation and translation live
in the shared `models`, `validation` and `translate` packages."""
