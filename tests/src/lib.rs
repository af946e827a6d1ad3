//! terrapin-tests (skeleton).
