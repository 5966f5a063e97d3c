"""Small helpers shared by the pages: services, controls generated from RunConfig, charts, notes."""
