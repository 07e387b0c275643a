//! The poll-mode worker loop.
#![forbid(unsafe_code)]
