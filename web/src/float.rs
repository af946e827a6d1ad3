//! The text of an `f64` wherever the wasm formats one with `Display` (a few error messages:
//! serde's and IndexedDB's, about values no caller sends). The build (`web/float-display.mjs`)
//! makes the standard library's `<f64 as Display>::fmt` call [`display`]: zmij's shortest
//! round-trip text, which serde_json already carries, instead of the standard library's float
//! formatting and its tables (web/README.md, "Bundle size"). Same value, other notation for
//! some: `1e300`, not 1 and 300 zeros; precision (`{:.2}`) is not applied, and nothing here
//! asks for it (the build checks no other float formatting is left).

use core::fmt::Formatter;

/// `<f64 as Display>::fmt`, by the same ABI: `true` is `Err(fmt::Error)`. Exported only so
/// that the build can find it; the build removes the export.
#[no_mangle]
pub extern "C" fn terrapin_f64_display(v: &f64, f: &mut Formatter<'_>) -> bool {
    f.write_str(zmij::Buffer::new().format(*v)).is_err()
}

#[cfg(test)]
mod tests {
    use super::terrapin_f64_display;
    use core::fmt;

    struct Via(f64);
    impl fmt::Display for Via {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if terrapin_f64_display(&self.0, f) {
                Err(fmt::Error)
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn reads_back_as_the_same_value() {
        for v in [
            0.0,
            -0.0,
            1.0,
            1.5,
            -2.25,
            0.1,
            1e300,
            5e-324,
            f64::MAX,
            123456789.125,
        ] {
            let text = Via(v).to_string();
            assert_eq!(
                text.parse::<f64>().unwrap().to_bits(),
                v.to_bits(),
                "{text}"
            );
        }
        assert_eq!(Via(f64::NAN).to_string(), "NaN");
        assert_eq!(Via(f64::INFINITY).to_string(), "inf");
        assert_eq!(Via(f64::NEG_INFINITY).to_string(), "-inf");
    }
}
