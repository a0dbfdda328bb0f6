//! DataFusion integration for Tidemark tables.
