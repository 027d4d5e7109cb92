"""Local cluster tooling: building the control plane from Go modules and running it with kwok."""
