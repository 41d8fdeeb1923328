"""Core logic of eda: pure functions and data types, no CLI or AWS client code."""
