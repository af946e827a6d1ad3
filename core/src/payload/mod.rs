//! Record payloads (msgpack).
