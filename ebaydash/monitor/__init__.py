"""Monitoring and scaling: metrics, histograms, resources, alerts and the scaling rules engine.
Import its modules by name."""

__all__: list[str] = []
