//! Exact blocked k-NN retrieval evaluation: Recall@K, precision@1, R-precision, MAP@R.
