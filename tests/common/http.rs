//! HTTP GETs, metric lookups and free ports: re-exported from the shared
//! test kit, so every test uses one implementation.
#![allow(unused_imports)]

pub use satpam_testkit::http::{
    free_addr, free_port, get, get_body, metric, metric_in, wait_until,
};
