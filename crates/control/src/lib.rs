//! Control plane: configuration files, metrics, admin API.
#![forbid(unsafe_code)]

pub mod admin;
pub mod capture;
pub mod config;
pub mod health;
pub mod ipvsadm;
pub mod keepalived;
pub mod live;
pub mod metrics;
pub mod net;
pub mod rate;
pub mod services;
pub mod sync;
pub mod twin;
