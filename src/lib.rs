pub mod corpus;
pub mod encoder;
pub mod error;
pub mod index;
