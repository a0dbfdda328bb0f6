//! Tidemark's own additions, kept under `_tidemark/` where Delta readers ignore them: tags,
//! pins and what they protect, manifests, and lineage.

pub mod lineage;
pub mod manifest;
pub mod pin;
pub(crate) mod protection;
pub(crate) mod readable;
pub mod tag;
pub(crate) mod tidemark_dir;
pub(crate) mod vacuum_plan;

pub use protection::{ProtectedVersion, Reference};
