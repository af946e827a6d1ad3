//! terrapin-edge (skeleton).
