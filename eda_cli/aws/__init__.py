"""eda's one AWS session layer: settings, cached clients, resource resolution, error translation."""
