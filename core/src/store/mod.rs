//! Stores built as folds over records.
