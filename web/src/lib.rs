//! terrapin-web (skeleton).
