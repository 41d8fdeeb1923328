"""eda: diagnose event pipelines on AWS."""

__version__ = "0.2.0"
