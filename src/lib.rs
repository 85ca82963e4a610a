pub mod corpus;
pub mod encoder;
pub mod error;
pub mod index;
mod progress;
pub mod select;
pub mod cli;
