//! Labelled scenario traffic: see docs/scenario.md.
